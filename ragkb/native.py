"""Living with native extensions: the stderr they write to and the panics they raise."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Silence stderr for the duration: file descriptor 2, where C and Rust code write, and
    sys.stderr, where llama-cpp-python's log callback prints llama.cpp's messages."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "wb") as null:
        os.dup2(null.fileno(), 2)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def is_native_panic(exc: BaseException) -> bool:
    """Return whether EXC is a Rust panic surfaced by pyo3: a PanicException, which derives
    from BaseException, so `except Exception` lets it through."""
    return type(exc).__name__ == "PanicException"
