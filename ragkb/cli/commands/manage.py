"""`ragkb list`, `stats`, `files`, `remove`, `reset`, `repair`, `export` and `import`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ragkb import errors
from ragkb.cli.app import app
from ragkb.cli.commands.common import open_kb
from ragkb.cli.options import JsonOpt, with_settings
from ragkb.config import Settings


@app.command("list")
@with_settings()
def list_(json_out: JsonOpt = False, *, settings: Settings) -> None:
    """List knowledge bases with their metric, files, chunks and size."""
    from ragkb.cli.render import schema, terminal
    from ragkb.index.inventory import survey_knowledge_bases

    found = survey_knowledge_bases(settings)
    if json_out:
        schema.write_json(
            {
                "knowledge_bases": [schema.kb_info_dict(i) for i in found.infos],
                "skipped": [{"name": name, "reason": why} for name, why in found.skipped],
            }
        )
    else:
        terminal.print_kb_list(terminal.stdout_console(), found.infos, skipped=len(found.skipped))
    if found.skipped and not found.infos:  # nothing to show: not a success
        raise errors.StorageError(f"no knowledge base could be read ({len(found.skipped)} skipped)")


@app.command()
@with_settings("kb")
def stats(json_out: JsonOpt = False, *, settings: Settings) -> None:
    """Show one knowledge base's settings fingerprint, counts and size."""
    from ragkb.cli.render import schema, terminal
    from ragkb.index.inventory import kb_info

    info = kb_info(settings)
    if json_out:
        schema.write_json(schema.kb_info_dict(info))
    else:
        terminal.print_kb_stats(terminal.stdout_console(), info)


@app.command()
@with_settings("kb")
def files(json_out: JsonOpt = False, *, settings: Settings) -> None:
    """List the files of a knowledge base: status, chunks, pages, hash, time."""
    from ragkb.cli.render import schema, terminal
    from ragkb.index.inventory import kb_files

    records = kb_files(settings)
    if json_out:
        schema.write_json(
            {"kb": settings.store.kb, "files": [schema.file_dict(r) for r in records]}
        )
    else:
        terminal.print_files(terminal.stdout_console(), records)


@app.command()
@with_settings("kb")
def remove(
    paths: Annotated[
        list[str],
        typer.Argument(help="Files, or folders (every stored file under them), to drop."),
    ],
    json_out: JsonOpt = False,
    *,
    settings: Settings,
) -> None:
    """Drop files' chunks from a knowledge base (the files on disk are not touched)."""
    from ragkb.cli.render import schema, terminal

    knowledge = open_kb(settings)
    removed = knowledge.remove(paths)
    if json_out:
        schema.write_json(
            {"kb": knowledge.name, "removed": [{"path": p, "chunks": n} for p, n in removed]}
        )
    else:
        out = terminal.stdout_console()
        for path, n in removed:
            chunks = "chunk" if n == 1 else "chunks"
            out.print(f"removed {terminal.safe(terminal.shown_path(path))} ({n} {chunks})")


@app.command()
@with_settings("kb")
def reset(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json_out: JsonOpt = False,
    *,
    settings: Settings,
) -> None:
    """Delete a knowledge base entirely."""
    from ragkb.cli.render import schema, terminal
    from ragkb.kb import delete_unreadable

    name = settings.store.kb
    try:
        knowledge = open_kb(settings)
        info = knowledge.info()
        holds = f"{info.files} files, {info.chunks} chunks"
    except errors.StorageError as exc:  # a damaged catalog must not keep its knowledge base
        knowledge, holds = None, f"its catalog cannot be read: {exc}"
    if not yes:
        if not sys.stdin.isatty():
            raise errors.UsageError("reset needs --yes when not run from a terminal")
        typer.confirm(f"Delete knowledge base '{name}' ({holds})?", abort=True, err=True)
    if knowledge is not None:
        knowledge.reset()
    else:
        delete_unreadable(settings)
    if json_out:
        schema.write_json({"kb": name, "deleted": True})
    else:
        terminal.stdout_console().print(f"deleted knowledge base '{terminal.safe(name)}'")


@app.command()
@with_settings("kb", logs=True)
def repair(json_out: JsonOpt = False, *, settings: Settings) -> None:
    """Make catalog, vectors and keyword index agree again after a crash or a damaged store."""
    from ragkb.cli.render import schema, terminal

    report = open_kb(settings).repair()
    if json_out:
        schema.write_json(schema.repair_dict(report))
    else:
        terminal.print_repair(terminal.stdout_console(), report)
    if report.ingest is not None and report.ingest.failed:
        raise typer.Exit(errors.EXIT_PARTIAL_INGEST)


@app.command("export")
@with_settings()
def export_(
    kb: Annotated[str, typer.Argument(help="Knowledge base to export.")],
    file: Annotated[Path, typer.Argument(help="Archive to write (.tar.gz).")],
    json_out: JsonOpt = False,
    *,
    settings: Settings,
) -> None:
    """Write a knowledge base (catalog, vectors, keyword index, fingerprint) to one archive."""
    from ragkb.cli.render import schema, terminal

    manifest = open_kb(settings.replace(kb=kb)).export(file)
    if json_out:
        schema.write_json({"archive": str(file), **manifest.as_dict()})
    else:
        counts = _counts(manifest.files, manifest.failed_files, manifest.chunks)
        terminal.stdout_console().print(
            f"exported '{terminal.safe(kb)}' ({counts}) to {terminal.safe(str(file))}"
        )


@app.command("import")
@with_settings("kb")
def import_(
    file: Annotated[Path, typer.Argument(help="Archive written by `ragkb export`.")],
    json_out: JsonOpt = False,
    *,
    settings: Settings,
) -> None:
    """Make a knowledge base from an archive, without re-embedding (--kb names it; else the
    archive's name). Refused when its embedder differs from this machine's settings."""
    from ragkb.cli.render import schema, terminal
    from ragkb.kb import import_archive

    name = settings.store.kb if settings.sources.get("kb") not in (None, "default") else None
    knowledge = import_archive(settings, file, name=name)
    info = knowledge.info()
    if json_out:
        schema.write_json(schema.kb_info_dict(info))
    else:
        counts = _counts(info.files, info.failed_files, info.chunks)
        terminal.stdout_console().print(f"imported '{terminal.safe(info.name)}' ({counts})")


def _counts(files: int, failed: int, chunks: int) -> str:
    """Say what an archive holds the same way on export and import."""
    failed_part = f", {failed} failed (to be retried)" if failed else ""
    return f"{files} files{failed_part}, {chunks} chunks"
