"""`ragkb serve`: the service as an MCP server over stdio (the official `mcp` SDK).

An MCP client (Claude Desktop, Cursor, Continue, an agent) starts `ragkb serve` and calls
its tools; each returns the JSON object of the matching CLI command, sources and evidence
included. A failure is a tool error carrying ragkb's one-line message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ragkb.errors import EXIT_USAGE, RagkbError
from ragkb.serve.service import Service, read_filter

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

_Tool = TypeVar("_Tool", bound=Callable[..., Any])

INSTRUCTIONS = (
    "ragkb searches and answers from the user's own documents (PDF, Word, Markdown, text, "
    "scans), in English or Chinese. Use `search` to find passages (each with file, page and "
    "a relevance verdict) and `ask` for an answer grounded in them, with verbatim evidence; "
    "when `refused` is true the documents do not hold the answer: say so rather than guess. "
    '`filter` narrows either to some files: {"paths": ["*/contracts/*"], "types": '
    '["pdf"], "tags": ["project-x"], "since": "30d"}.'
)


def _reported(tool: _Tool) -> _Tool:
    """ragkb's errors become tool errors with their message (what the client shows)."""
    from mcp.server.mcpserver.exceptions import ToolError

    @functools.wraps(tool)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return tool(*args, **kwargs)
        except RagkbError as exc:
            raise ToolError(f"{exc} (exit code {exc.exit_code})") from exc

    return wrapper  # type: ignore[return-value]


def create_server(service: Service) -> MCPServer:
    """Return the MCP server with ragkb's four tools."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from pydantic import ValidationError

    from ragkb import __version__

    class Server(MCPServer):
        async def call_tool(self, *args: Any, **kwargs: Any) -> Any:
            """Arguments that do not fit a tool's schema are one line with exit code 2, as
            ragkb's own errors are, not the SDK's pydantic report (lines and a link)."""
            try:
                return await super().call_tool(*args, **kwargs)
            except ToolError as exc:
                if not isinstance(exc.__cause__, ValidationError):
                    raise
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                    for e in exc.__cause__.errors()
                )
                raise ToolError(f"bad arguments: {problems} (exit code {EXIT_USAGE})") from None

    server = Server("ragkb", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING")

    @server.tool()
    @_reported
    def search(
        query: str,
        kb: str | None = None,
        k: int | None = None,
        mode: str | None = None,
        filter: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Find the passages of the knowledge base closest to QUERY: each result has its
        file, page, section, score, text and whether it is relevant enough to answer from.
        mode: hybrid (default), vector or keyword. k: how many (default 5)."""
        return service.search(query, kb=kb, k=k, mode=mode, scope=read_filter(filter))

    @server.tool()
    @_reported
    def ask(
        question: str,
        kb: str | None = None,
        k: int | None = None,
        mode: str | None = None,
        filter: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Answer QUESTION from the knowledge base: the answer, its lead sentence quoted from
        a document, the sources (file and page) and verbatim evidence. `refused` true means
        the documents do not contain the answer; `nearest` is the closest passage found."""
        return service.ask(question, kb=kb, k=k, mode=mode, scope=read_filter(filter))

    @server.tool()
    @_reported
    def list_knowledge_bases() -> dict[str, Any]:
        """List the knowledge bases: name, files, chunks, embedder, size."""
        return service.list_kbs()

    @server.tool()
    @_reported
    def get_document(path: str, kb: str | None = None, page: int | None = None) -> dict[str, Any]:
        """Return a stored file's text as chunks, in order, by the path that search and ask
        report (only the chunks of PAGE when given)."""
        return service.document(path, kb=kb, page=page)

    return server


def run_stdio(service: Service) -> None:
    """Serve MCP on stdin and stdout until the client closes them."""
    create_server(service).run("stdio")
