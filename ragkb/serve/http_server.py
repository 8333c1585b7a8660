"""`ragkb serve --http`: the service over HTTP (FastAPI on uvicorn), localhost by default.

    GET  /health                 {"status": "ok", "version", "kb", "uptime_s"} (no token needed)
    GET  /kbs                    `ragkb list --json`
    POST /search                 {"query", "kb"?, "k"?, "mode"?, "filter"?} -> `search --json`
    POST /ask                    {"question", ..., "stream"?} -> `ask --json`, or with
                                 "stream": true (or Accept: text/event-stream) server-sent
                                 events: sources, text (one per piece), done (the answer)
    GET  /documents?path=&kb=&page=   a stored file's chunks

Errors are {"error", "exit_code"} with the HTTP status of their kind (400 a bad request,
401 no or a wrong token, 404 an unknown knowledge base or file, 409 locked or mismatched,
503 a store or model that failed, 500 a bug).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from ragkb import __version__, errors
from ragkb.errors import RagkbError
from ragkb.serve.service import Service, read_filter

log = logging.getLogger(__name__)


class SearchRequest(BaseModel):
    """POST /search: `ragkb search`'s arguments. Types are not coerced ("k": true is no 1)
    and an unknown key ("top_k") is an error, not ignored."""

    model_config = ConfigDict(strict=True, extra="forbid")

    query: str
    kb: str | None = Field(default=None, min_length=1)
    k: int | None = Field(default=None, ge=1, le=100)
    mode: str | None = None
    filter: dict[str, Any] | None = None


class AskRequest(BaseModel):
    """POST /ask: `ragkb ask`'s arguments, and whether to stream the answer."""

    model_config = ConfigDict(strict=True, extra="forbid")

    question: str
    kb: str | None = Field(default=None, min_length=1)
    k: int | None = Field(default=None, ge=1, le=100)
    mode: str | None = None
    filter: dict[str, Any] | None = None
    stream: bool = False


_STATUS = {
    errors.EXIT_USAGE: 400,
    errors.EXIT_CONFIG: 400,
    errors.EXIT_NOT_FOUND: 404,
    errors.EXIT_LOCKED: 409,
    errors.EXIT_MISMATCH: 409,
    errors.EXIT_MODEL: 503,
    errors.EXIT_STORAGE: 503,
}


def is_loopback(host: str) -> bool:
    """Return whether HOST only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_app(service: Service, *, token: str = "") -> FastAPI:
    """Return the FastAPI application serving SERVICE; with TOKEN, every route but /health
    requires `Authorization: Bearer TOKEN`."""

    def authorised(authorization: str | None = Header(default=None)) -> None:
        if not token:
            return
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise _Unauthorised

    app = FastAPI(
        title="ragkb", version=__version__, docs_url=None, redoc_url=None, openapi_url=None
    )
    guarded = [Depends(authorised)]

    @app.exception_handler(RagkbError)
    def ragkb_error(_: Request, exc: RagkbError) -> JSONResponse:
        return JSONResponse(
            {"error": str(exc), "exit_code": exc.exit_code},
            status_code=_STATUS.get(exc.exit_code, 500),
        )

    @app.exception_handler(RequestValidationError)
    def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        return JSONResponse(
            {"error": f"bad request: {problems}", "exit_code": errors.EXIT_USAGE},
            status_code=400,
        )

    @app.exception_handler(HTTPException)
    def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        # An unknown route (404) or method (405): the same {"error", "exit_code"} shape.
        return JSONResponse(
            {"error": f"{exc.detail}".lower(), "exit_code": errors.EXIT_USAGE},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(_Unauthorised)
    def unauthorised(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"error": "missing or wrong bearer token", "exit_code": errors.EXIT_USAGE},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(Exception)
    def internal(_: Request, exc: Exception) -> JSONResponse:
        log.error("internal error: %s: %s", type(exc).__name__, exc)
        return JSONResponse(
            {"error": f"internal error ({type(exc).__name__})", "exit_code": errors.EXIT_INTERNAL},
            status_code=500,
        )

    @app.get("/health")
    def health() -> dict[str, Any]:
        return service.health()

    @app.get("/kbs", dependencies=guarded)
    def kbs() -> dict[str, Any]:
        return service.list_kbs()

    @app.post("/search", dependencies=guarded)
    def search(request: SearchRequest) -> dict[str, Any]:
        return service.search(
            request.query,
            kb=request.kb,
            k=request.k,
            mode=request.mode,
            scope=read_filter(request.filter),
        )

    @app.post("/ask", dependencies=guarded, response_model=None)
    def ask(
        request: AskRequest, accept: str | None = Header(default=None)
    ) -> dict[str, Any] | StreamingResponse:
        options = {
            "kb": request.kb,
            "k": request.k,
            "mode": request.mode,
            "scope": read_filter(request.filter),
        }
        if request.stream or "text/event-stream" in (accept or ""):
            events = service.ask_events(request.question, **options)
            first = next(events)  # errors (an unknown kb, a bad filter) are a status, not an event
            return StreamingResponse(_sse(first, events), media_type="text/event-stream")
        return service.ask(request.question, **options)

    @app.get("/documents", dependencies=guarded)
    def documents(path: str, kb: str | None = None, page: int | None = None) -> dict[str, Any]:
        return service.document(path, kb=kb, page=page)

    return app


class _Unauthorised(Exception):
    """A request without the server's bearer token."""


def _sse(
    first: tuple[str, dict[str, Any]], rest: Iterator[tuple[str, dict[str, Any]]]
) -> Iterator[str]:
    """Server-sent events: `event: NAME` and one `data:` line of JSON each."""
    yield _event(*first)
    try:
        for name, data in rest:
            yield _event(name, data)
    except RagkbError as exc:  # mid-answer (a model that failed): the stream says so and ends
        yield _event("error", {"error": str(exc), "exit_code": exc.exit_code})


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def run_http(
    service: Service, *, host: str, port: int, token: str, ready: Callable[[], None] = lambda: None
) -> None:
    """Serve until interrupted; refuse to listen beyond loopback without a token. READY is
    called once the address is known to be free, just before serving."""
    import uvicorn

    if not is_loopback(host) and not token:
        raise errors.ConfigError(
            f"serve --host {host}: listening beyond this machine needs a bearer token; set it "
            "in the variable named by serve_token_env (RAGKB_SERVE_TOKEN by default)"
        )
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise errors.ConfigError(
                f"serve: cannot listen on {host}:{port} ({exc.strerror}); choose another --port "
                "or --host"
            ) from None
    app = create_app(service, token=token)
    ready()
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
