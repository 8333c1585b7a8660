"""One file holding a whole knowledge base: catalog, vectors, keyword index and fingerprint.

An archive is a gzipped tar of the knowledge base's folder as it stands between writes (the
writer lock held), plus `ragkb-archive.json` naming what it holds. Moving a knowledge base
to another machine this way costs a copy, not a re-embedding.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragkb.errors import StorageError, UsageError
from ragkb.index.catalog import CATALOG_FILE, Catalog

MANIFEST_FILE = "ragkb-archive.json"
FORMAT = 1
CONTENTS = (CATALOG_FILE, "chroma", "keywords")  # what a knowledge base folder is made of


@dataclass(frozen=True, slots=True)
class ArchiveManifest:
    """What an archive says about the knowledge base inside it."""

    kb: str
    fingerprint: dict[str, Any]
    files: int  # stored, as `list` and `stats` count them
    chunks: int
    created_at: float
    ragkb_version: str
    format: int = FORMAT
    failed_files: int = 0  # recorded to be retried: an archive from before did not say

    def as_dict(self) -> dict[str, Any]:
        """Return the manifest as JSON."""
        return {
            "format": self.format,
            "kb": self.kb,
            "fingerprint": self.fingerprint,
            "files": self.files,
            "failed_files": self.failed_files,
            "chunks": self.chunks,
            "created_at": self.created_at,
            "ragkb_version": self.ragkb_version,
        }


def write_archive(
    directory: Path, target: Path, *, kb: str, catalog: Catalog, version: str, copy_store: Any
) -> ArchiveManifest:
    """Write knowledge base KB (in DIRECTORY) to TARGET; the caller holds the writer lock.

    COPY_STORE(folder) copies the vector store into FOLDER (under the store's own lock). The
    catalog is copied with SQLite's backup API, so its WAL is folded in.
    """
    stored, failed = catalog.file_counts()
    manifest = ArchiveManifest(
        kb=kb,
        fingerprint=catalog.get_meta("fingerprint") or {},
        files=stored,
        failed_files=failed,
        chunks=catalog.chunk_count(),
        created_at=time.time(),
        ragkb_version=version,
    )
    staging = target.with_name(f".{target.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with (
            sqlite3.connect(catalog.path) as source,
            sqlite3.connect(staging / CATALOG_FILE) as copy,
        ):
            source.backup(copy)
        copy_store(staging / "chroma")
        if (directory / "keywords").is_dir():
            shutil.copytree(directory / "keywords", staging / "keywords")
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest.as_dict(), indent=1), "utf-8")
        with tarfile.open(partial, "w:gz") as tar:
            for child in sorted(staging.iterdir()):
                tar.add(child, arcname=child.name)
        partial.replace(target)  # a reader of TARGET never sees half an archive
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StorageError(f"{target}: cannot write the archive ({exc.strerror or exc})") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def unpack_archive(source: Path, staging: Path) -> ArchiveManifest:
    """Unpack archive SOURCE into the new folder STAGING and return its manifest.

    Only regular files and folders inside STAGING are extracted (tarfile's "data" filter
    refuses absolute names, `..`, links out and devices); anything else is a UsageError.
    """
    try:
        with tarfile.open(source, "r:gz") as tar:
            tar.extractall(staging, filter="data")
        raw = json.loads((staging / MANIFEST_FILE).read_text("utf-8"))
        manifest = ArchiveManifest(
            kb=str(raw["kb"]),
            fingerprint=dict(raw["fingerprint"]),
            files=int(raw["files"]),
            chunks=int(raw["chunks"]),
            created_at=float(raw["created_at"]),
            ragkb_version=str(raw["ragkb_version"]),
            format=int(raw["format"]),
            failed_files=int(raw.get("failed_files", 0)),
        )
    except FileNotFoundError as exc:
        raise UsageError(f"{source}: not a ragkb archive (no {MANIFEST_FILE} in it)") from exc
    except (OSError, tarfile.TarError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{source}: not a readable ragkb archive ({exc})") from exc
    if manifest.format > FORMAT:
        raise UsageError(
            f"{source}: archive format {manifest.format} is newer than this ragkb reads "
            f"({FORMAT}); upgrade ragkb"
        )
    missing = [name for name in (CATALOG_FILE, "chroma") if not (staging / name).exists()]
    if missing:
        raise UsageError(f"{source}: the archive lacks {', '.join(missing)}")
    (staging / MANIFEST_FILE).unlink()
    return manifest
