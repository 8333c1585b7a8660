"""ragkb: a local, private knowledge base on the command line.

Importing this package is cheap: models and stores load only when a stage needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ragkb.config import Settings, load_settings
from ragkb.errors import (
    ConfigError,
    DocumentError,
    KnowledgeBaseLockedError,
    KnowledgeBaseNotFoundError,
    ModelError,
    RagkbError,
    StoreMismatchError,
)

if TYPE_CHECKING:
    from ragkb.kb import KnowledgeBase

__version__ = "0.1.0"
__all__ = [
    "ConfigError",
    "DocumentError",
    "KnowledgeBase",
    "KnowledgeBaseLockedError",
    "KnowledgeBaseNotFoundError",
    "ModelError",
    "RagkbError",
    "Settings",
    "StoreMismatchError",
    "load_settings",
]


def __getattr__(name: str) -> Any:
    if name == "KnowledgeBase":
        from ragkb.kb import KnowledgeBase

        return KnowledgeBase
    raise AttributeError(name)
