"""The `ragkb` entry point: run a command and map every failure to its exit code, once."""

from __future__ import annotations

import signal
import sqlite3
import sys
import threading
from typing import Any

import typer

from ragkb import errors
from ragkb.cli.app import app
from ragkb.cli.commands import (  # register commands
    ask,
    config,
    doctor,
    ingest,
    manage,
    search,
    serve,
    watch,
)
from ragkb.cli.render.logs import configure_logging

_COMMAND_MODULES = (ask, config, doctor, ingest, manage, search, serve, watch)


class _Terminated(SystemExit):
    """SIGTERM, raised where the program is so that its cleanup runs (a parse pool's child
    and its semaphores go with it) before it exits with EXIT_TERMINATED."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated(errors.EXIT_TERMINATED)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and map every failure to its documented exit code, in one place."""
    configure_logging()
    # `serve` and `watch` set their own; a caller's (a test's) is put back at the end.
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _run(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(argv: list[str] | None) -> int:
    try:
        result = app(args=argv, prog_name="ragkb", standalone_mode=False)
        code = int(result) if isinstance(result, int) else 0
        if code == errors.EXIT_INTERRUPTED:  # typer turns Ctrl-C into a silent Exit(130)
            _stderr().print("interrupted")
        return code
    except _Terminated:
        _stderr().print("terminated")
        return errors.EXIT_TERMINATED
    except errors.RagkbError as exc:
        _report_error(exc)
        return exc.exit_code
    except typer.Abort:
        _stderr().print("aborted")
        return errors.EXIT_INTERRUPTED
    except typer.TyperException as exc:  # usage errors (typer vendors click's classes)
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            _stderr().print(f"error: {exc}")
        return errors.EXIT_USAGE
    except KeyboardInterrupt:
        _stderr().print("interrupted")
        return errors.EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly.
        sys.stderr.close()
        return errors.EXIT_INTERNAL
    except (OSError, sqlite3.Error) as exc:  # disk full, read-only home, a damaged catalog
        _report_error(errors.StorageError(_storage_message(exc)), exc)
        return errors.EXIT_STORAGE
    except Exception as exc:  # a bug: one line, and the traceback only when asked for
        _report_error(errors.RagkbError(f"internal error ({type(exc).__name__}: {exc})"), exc)
        return errors.EXIT_INTERNAL


def _storage_message(exc: OSError | sqlite3.Error) -> str:
    if isinstance(exc, OSError):
        where = exc.filename or "a file"
        return f"{where}: {exc.strerror or exc}"
    return f"catalog database: {exc}"


def _stderr() -> Any:
    from ragkb.cli.render.terminal import stderr_console

    return stderr_console()


def _report_error(exc: errors.RagkbError, cause: BaseException | None = None) -> None:
    from ragkb.cli.render.terminal import debug_enabled, safe

    if debug_enabled():
        import traceback

        traceback.print_exception(cause or exc)
    _stderr().print(f"[red]error:[/red] {safe(str(exc))}")


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
