"""Split a reasoning model's streamed text into the answer and its <think> block."""

from __future__ import annotations


class ThinkingFilter:
    """Split streamed text into answer and <think>…</think> reasoning."""

    OPEN, CLOSE = "<think>", "</think>"

    def __init__(self) -> None:
        self._buffer = ""
        self._inside = False
        self.thinking = ""

    def feed(self, text: str) -> str:
        """Take streamed TEXT; return the part that belongs to the answer."""
        self._buffer += text
        out = []
        while self._buffer:
            tag = self.CLOSE if self._inside else self.OPEN
            pos = self._buffer.find(tag)
            if pos == -1:
                # Keep a possible partial tag at the end for the next piece.
                keep = _partial_suffix(self._buffer, tag)
                emit, self._buffer = (
                    self._buffer[: len(self._buffer) - keep],
                    self._buffer[len(self._buffer) - keep :],
                )
                if self._inside:
                    self.thinking += emit
                else:
                    out.append(emit)
                break
            if self._inside:
                self.thinking += self._buffer[:pos]
            else:
                out.append(self._buffer[:pos])
            self._buffer = self._buffer[pos + len(tag) :]
            self._inside = not self._inside
        return "".join(out)

    def flush(self) -> str:
        """Return what is left at the end of the stream."""
        rest, self._buffer = self._buffer, ""
        if self._inside:
            self.thinking += rest
            return ""
        return rest


def _partial_suffix(text: str, tag: str) -> int:
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0
