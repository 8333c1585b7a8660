"""The RagkbError tree: each class carries the exit code the CLI returns for it."""

from __future__ import annotations

# Exit codes; the README's table mirrors this one.
EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_NOT_FOUND = 4
EXIT_PARTIAL_INGEST = 5
EXIT_LOCKED = 6
EXIT_MISMATCH = 7
EXIT_REFUSED = 8
EXIT_MODEL = 9
EXIT_STORAGE = 10
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process the signal ended


class RagkbError(Exception):
    """Base class of every expected failure; the message is shown to the user as is."""

    exit_code = EXIT_INTERNAL


class ConfigError(RagkbError):
    """A setting is unknown, malformed or points at something that does not exist."""

    exit_code = EXIT_CONFIG


class UsageError(ConfigError):
    """A flag or argument has an impossible value (the same checks as settings, exit code 2)."""

    exit_code = EXIT_USAGE


class KnowledgeBaseNotFoundError(RagkbError):
    """The named knowledge base does not exist (nothing ingested yet)."""

    exit_code = EXIT_NOT_FOUND


class KnowledgeBaseLockedError(RagkbError):
    """Another process is writing to the knowledge base."""

    exit_code = EXIT_LOCKED


class StoreMismatchError(RagkbError):
    """The knowledge base was built with settings incompatible with the current ones."""

    exit_code = EXIT_MISMATCH


class ModelError(RagkbError):
    """A model could not be loaded or a generation backend failed."""

    exit_code = EXIT_MODEL


class StorageError(RagkbError):
    """A file of the data home (or another path ragkb writes) cannot be read or written."""

    exit_code = EXIT_STORAGE


class DocumentError(RagkbError):
    """One file cannot be ingested; the run records it and goes on."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
