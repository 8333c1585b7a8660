"""The JSON contract: every object that --json, --jsonl, HTTP and MCP return, built in one place.

Keys are snake_case and stable: adding a key is fine, renaming or removing one breaks users.
The CLI writes these objects (cli/render/schema.py); the servers return them as they are.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ragkb.types import IngestReport

if TYPE_CHECKING:
    from ragkb.index.catalog import FileRecord
    from ragkb.index.inventory import KnowledgeBaseInfo
    from ragkb.ingest.repair import RepairReport
    from ragkb.ingest.watch import WatchBatch
    from ragkb.query.retrieve import Retrieval
    from ragkb.types import Answer, Evidence, Filter, Hit


def hit_dict(hit: Hit) -> dict[str, Any]:
    """Return a hit as the documented JSON object."""
    return {
        "rank": hit.rank,
        "source": hit.source,
        "page": hit.page,
        "section": hit.heading,
        "score": hit.score,
        "distance": hit.distance,
        "text": hit.text,
        "chunk_id": hit.chunk_id,
        "ocr": hit.ocr,
    }


def search_dict(
    query: str,
    kb: str,
    metric: str,
    mode: str,
    retrieval: Retrieval,
    scope: Filter | None = None,
) -> dict[str, Any]:
    """Return the `search --json` object."""
    relevant = {h.chunk_id for h in retrieval.relevant}
    return {
        "query": query,
        "kb": kb,
        "metric": metric,
        "mode": mode,
        "filter": scope.describe() if scope else {},
        "unknown_terms": list(retrieval.unknown_terms),
        "refusal_reason": retrieval.verdict.reason,
        "results": [{**hit_dict(h), "relevant": h.chunk_id in relevant} for h in retrieval.hits],
    }


def evidence_dict(e: Evidence) -> dict[str, Any]:
    """Return an evidence quote as the documented JSON object."""
    return {
        "source": e.source,
        "page": e.page,
        "section": e.section,
        "chunk_id": e.chunk_id,
        "quote": e.quote,
        "start": e.start,
        "end": e.end,
        "ocr": e.ocr,
    }


def answer_dict(answer: Answer, *, kb: str, scope: Filter | None = None) -> dict[str, Any]:
    """Return the `ask --json` object."""
    data: dict[str, Any] = {
        "question": answer.question,
        "standalone_query": answer.standalone_query,
        "kb": kb,
        "filter": scope.describe() if scope else {},
        "answer": answer.text,
        "refused": answer.refused,
        "unknown_terms": list(answer.unknown_terms),
        "refusal_reason": answer.refusal_reason,
        "nearest": hit_dict(answer.nearest) if answer.nearest else None,
        "finish_reason": answer.finish_reason,
        "lead": evidence_dict(answer.lead) if answer.lead else None,
        "sentences": [{"text": s.text, "supported": s.supported} for s in answer.sentences],
        "language_match": answer.language_match,
        "language_retry": answer.language_retry,
        "sources": [hit_dict(h) for h in answer.sources],
        "evidence": [evidence_dict(e) for e in answer.evidence],
        "invalid_citations": list(answer.invalid_citations),
        "usage": asdict(answer.usage) if answer.usage else None,
        "seconds": round(answer.seconds, 3),
        "timings": answer.timings,
    }
    if answer.thinking:
        data["thinking"] = answer.thinking
    return data


def watch_dict(batch: WatchBatch, *, kb: str) -> dict[str, Any]:
    """Return one `watch --json` line: the batch's ingest object, with `initial` and the
    files removed because they vanished counted among `removed`."""
    data = ingest_dict(batch.report or IngestReport(kb=kb))
    data["removed"] = [*data["removed"], *batch.removed]
    data["counts"]["removed"] = len(data["removed"])
    data["seconds"] = round(batch.seconds, 3)
    return {"initial": batch.initial, **data}


def ingest_dict(report: IngestReport) -> dict[str, Any]:
    """Return the `ingest --json` object."""
    return {
        "kb": report.kb,
        "dry_run": report.dry_run,
        "added": list(report.added),
        "updated": list(report.updated),
        "unchanged": list(report.unchanged),
        "removed": list(report.removed),
        "failed": [{"path": f.path, "reason": f.reason} for f in report.failed],
        "counts": {
            "added": len(report.added),
            "updated": len(report.updated),
            "unchanged": len(report.unchanged),
            "removed": len(report.removed),
            "failed": len(report.failed),
        },
        "chunks_added": report.chunks_added,
        "chunks_removed": report.chunks_removed,
        "warnings": list(report.warnings),
        "seconds": round(report.seconds, 3),
    }


def kb_info_dict(info: KnowledgeBaseInfo) -> dict[str, Any]:
    """Return a knowledge base's info as JSON."""
    return {
        "name": info.name,
        "metric": info.metric,
        "embedder": info.embedder,
        "files": info.files,
        "failed_files": info.failed_files,
        "chunks": info.chunks,
        "size_bytes": info.size_bytes,
        "path": info.path,
        "fingerprint": info.fingerprint,
    }


def file_dict(record: FileRecord) -> dict[str, Any]:
    """Return a file record as JSON."""
    return {
        "path": record.path,
        "status": record.status,
        "reason": record.reason,
        "chunks": record.chunks,
        "pages": record.pages,
        "size_bytes": record.size,
        "file_hash": record.file_hash,
        "ingested_at": record.ingested_at,
        "modified_at": record.mtime,
        "tags": list(record.tags),
        "ocr_pages": record.ocr_pages,
        "warnings": list(record.warnings),
    }


def repair_dict(report: RepairReport) -> dict[str, Any]:
    """Return the `repair --json` object."""
    return {
        "kb": report.kb,
        "orphan_vectors": report.orphan_vectors,
        "missing_vectors": report.missing_vectors,
        "reingested": list(report.reingested),
        "vanished": list(report.vanished),
        "keyword_index_rebuilt": report.keyword_index_rebuilt,
        "ingest": ingest_dict(report.ingest) if report.ingest is not None else None,
    }
