"""The library's log records on stderr: `warning: ...` for problems, `ragkb: ...` for detail."""

from __future__ import annotations

import logging
import sys

from ragkb.cli.render.controls import without_controls


class _LogFormatter(logging.Formatter):
    """Plain text, no colour: `warning: ...` or, with --verbose, `ragkb: ...`."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = "ragkb" if record.levelno < logging.WARNING else record.levelname.lower()
        # Messages name files, folders and servers: untrusted text, like a document's.
        return f"{prefix}: {without_controls(record.getMessage())}"


def configure_logging(*, verbose: bool = False, quiet: bool = False) -> None:
    """Send the library's log records to stderr at the level the flags ask for."""
    logger = logging.getLogger("ragkb")
    for handler in [h for h in logger.handlers if getattr(h, "ragkb_cli", False)]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)  # the current stderr (tests swap it)
    handler.setFormatter(_LogFormatter())
    handler.ragkb_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING)
    logger.propagate = False
