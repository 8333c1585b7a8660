"""The heading trail above a position in a document ("Install > GPU")."""

from __future__ import annotations


class HeadingTrail:
    """The open headings above the current position, outermost first."""

    def __init__(self) -> None:
        self._open: list[tuple[int, str]] = []

    def open(self, level: int, title: str) -> None:
        """Close headings at this level or deeper, then open this one."""
        while self._open and self._open[-1][0] >= level:
            self._open.pop()
        self._open.append((level, title))

    @property
    def text(self) -> str | None:
        """Return the trail joined with ' > ', or None before the first heading.

        A heading that repeats the one above it (pandoc writes a DOCX title both as Title
        and as Heading 1) is shown once.
        """
        titles: list[str] = []
        for _, title in self._open:
            if not titles or titles[-1] != title:
                titles.append(title)
        return " > ".join(titles) or None
