"""The archivists' HTTP service: a read-only JSON API and a small HTML search page.

Input: a crawl database (and its WARC archive folder). Output: HTTP responses. Does I/O (reads
the database through the store and WARC records through ``pipeline.archive``); writes nothing.

JSON API (OpenAPI at ``/openapi.json``; no Swagger UI, which would load scripts from a CDN)::

    GET /notices?q=&publisher=&since=&until=&validity=&doc_no=&index_no=&topic=&kind=&integrity=&limit=&cursor=
    GET /notices/{id}             the current record (NoticeRecord)
    GET /notices/{id}/versions    its version history (list of VersionInfo)
    GET /notices/{id}/raw         the archived response bytes, as an attachment download

HTML for people: ``GET /`` (search form and results) and ``GET /n/{id}`` (one record).

Errors: malformed parameters (a bad cursor too) → 422 in FastAPI's validation shape; an
unknown id → 404; the store failing (corrupt, locked, replaced database) → 503 with its
message. Clients never see a traceback.

Each request opens its own read-only ``SqliteStore`` and closes it when the response is sent:
SQLite connections are cheap to open (well under a millisecond), WAL readers never block each
other or the crawler, and there is no shared connection to guard across the thread pool.
Every query is the store's own parameterised SQL; nothing a user types reaches SQL text.
"""

import base64
import hashlib
import logging
import mimetypes
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, get_args

import uvicorn
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from pipeline.archive import read_record
from pipeline.errors import StoreError
from pipeline.settings import Settings
from pipeline.store import SqliteStore, decode_cursor
from schemas.record import NoticeRecord
from schemas.search import SearchPage, SearchQuery, Validity, VersionInfo

__all__ = ["create_app", "serve"]

log = logging.getLogger(__name__)

# The page's only style sheet, inline; the Content-Security-Policy admits it by its hash, so
# no other style (and no script at all) can run even if page text slipped through unescaped.
CSS = """
body{font:16px/1.6 system-ui,"Noto Sans CJK SC","PingFang SC",sans-serif;margin:0 auto;max-width:60rem;padding:0 1rem;color:#1a1a1a}
header{border-bottom:2px solid #9b1c1c;margin-bottom:1rem}header a{color:#9b1c1c;text-decoration:none;font-weight:600}
form.search{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:.5rem 1rem;margin-bottom:1rem}
form.search .wide{grid-column:1/-1}label{display:block;font-size:.85rem;color:#444}
input,select,button{font:inherit;padding:.3rem;width:100%;box-sizing:border-box}button{width:auto;padding:.3rem 1.2rem}
ol.results{padding-left:1.2rem}ol.results li{margin-bottom:1rem}.meta{color:#555;font-size:.9rem}
mark{background:#ffe58a;padding:0 .1em}.error{border:1px solid #9b1c1c;background:#fdecec;padding:.5rem 1rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3;font-weight:600}.kind{font-size:.8rem;color:#fff;background:#555;border-radius:.2rem;padding:0 .3rem;margin-left:.4rem}
.suspect{color:#9b1c1c;font-weight:600}.outline ul{padding-left:1.5rem}.outline p{margin:.2rem 0}code{word-break:break-all}
nav.pages a{margin-right:1rem}
"""
_STYLE_HASH = base64.b64encode(hashlib.sha256(CSS.encode("utf-8")).digest()).decode("ascii")
CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
RAW_CSP = "default-src 'none'; sandbox"

KIND_LABELS: dict[str, str] = {
    "background": "背景 background",
    "activities": "工作开展 activities",
    "outcomes": "成效 outcomes",
    "problems": "问题 problems",
    "next_steps": "下一步 next steps",
    "tasks": "任务 tasks",
    "arrangements": "安排 arrangements",
    "requirements": "要求 requirements",
    "other": "其他 other",
}
METADATA_LABELS: list[tuple[str, str]] = [
    ("index_no", "索引号 index no."),
    ("publisher", "发布机构 publisher"),
    ("published_date", "发布日期 published"),
    ("written_date", "成文日期 written"),
    ("doc_no", "文号 doc no."),
    ("disclosure", "公开方式 disclosure"),
    ("validity", "有效性 validity"),
    ("topic", "主题分类 topic"),
]
_MARK = re.compile(r"\[\[(.+?)\]\]")
_EXTENSIONS = {"text/html": ".html", "application/xhtml+xml": ".html", "text/plain": ".txt"}
_SEARCH_FIELDS = (
    "q",
    "publisher",
    "since",
    "until",
    "validity",
    "kind",
    "doc_no",
    "index_no",
    "topic",
    "limit",
)
_PAGE_SIZES = ("10", "20", "50", "100")


class ErrorMessage(BaseModel):
    """What a 404 or 503 answer carries."""

    model_config = ConfigDict(extra="forbid")

    detail: str = Field(description="What went wrong, for people")


_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorMessage, "description": "No notice with this id"},
    503: {"model": ErrorMessage, "description": "The database could not be read"},
}


def marked(snippet: str | None) -> Markup:
    """A snippet with its [[matches]] as <mark>: escaped first, so page text can never add markup."""
    return Markup(_MARK.sub(r"<mark>\1</mark>", str(escape(snippet or ""))))


def _http_url(url: str | None) -> str | None:
    """Only http(s) URLs become links (a page could carry a javascript: 'attachment')."""
    return url if url and urllib.parse.urlsplit(url).scheme.lower() in {"http", "https"} else None


def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("pipeline", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["marked"] = marked
    env.filters["http_url"] = _http_url
    env.globals.update(
        css=Markup(CSS),
        kind_labels=KIND_LABELS,
        metadata_labels=METADATA_LABELS,
        validities=get_args(Validity),
    )
    return env


class _SecurityHeaders:
    """Adds nosniff, a strict CSP and friends to every response (keeps a route's own CSP)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in (
                    (b"x-content-type-options", b"nosniff"),
                    (b"content-security-policy", CSP.encode()),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ):
                    if name not in present:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _open(db: Path) -> SqliteStore:
    return SqliteStore(db, readonly=True)


def _open_upgrading(db: Path) -> SqliteStore:
    """At start-up: an older database is upgraded once, then read only (as `notices search` does)."""
    return SqliteStore.open_for_reading(db)


def _request_store(request: Request) -> Iterator[SqliteStore]:
    """A read-only store for one request, closed after the response."""
    store = _open(request.app.state.db)
    try:
        yield store
    finally:
        store.close()


Store = Annotated[SqliteStore, Depends(_request_store)]


def _recorded_archive(store: SqliteStore) -> Path | None:
    """The archive folder the newest finished crawl of this database wrote to, if it still exists."""
    summary = store.latest_summary()
    if summary is None:
        return None
    folder = Path(summary.archive) if summary.archive else None
    return folder if folder is not None and folder.is_dir() else None


def _raw_extension(content_type: str | None) -> str:
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    return _EXTENSIONS.get(mime) or (mimetypes.guess_extension(mime) if mime else None) or ".bin"


def _cursor_error(cursor: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", "cursor"), "msg": message, "input": cursor}]
    )


def create_app(db: Path, archive: Path | None = None) -> FastAPI:
    """The service for one database. Raises StoreError at once when the database cannot be
    served (missing, not a database, an older schema) or ``archive`` is not a folder.

    Without ``archive`` the folder is the one the newest crawl run recorded; when there is
    none, ``/notices/{id}/raw`` answers 404 saying so.
    """
    db = Path(db)
    with _open_upgrading(db) as store:  # fail now, with the store's message, rather than per request
        recorded = _recorded_archive(store)
    if archive is not None and not Path(archive).is_dir():
        raise StoreError(f"no archive folder at {archive}")
    archive_dir = Path(archive) if archive is not None else recorded
    templates = _templates()

    app = FastAPI(
        title="gov-notices",
        summary="Read-only search over crawled Chinese government notices",
        description="Records in format v1 (see /openapi.json), their version history and archived bytes.",
        version="1",
        docs_url=None,
        redoc_url=None,
    )
    app.state.db = db
    app.add_middleware(_SecurityHeaders)

    def wants_html(request: Request) -> bool:
        return request.url.path == "/" or request.url.path.startswith("/n/")

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(templates.get_template(name).render(**context), status_code=status)

    @app.exception_handler(StoreError)
    async def store_failed(request: Request, exc: StoreError) -> Response:
        log.warning("store error on %s: %s", request.url.path, exc.message)
        message = f"the database cannot be read: {exc.message}"
        if wants_html(request):
            return page("error.html", 503, title="数据库不可用 Database unavailable", message=message)
        return JSONResponse({"detail": message}, status_code=503)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        log.error("internal error on %s", request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal error (logged on the server)"}, status_code=500)

    def record_or_404(store: SqliteStore, notice_id: str) -> NoticeRecord:
        record = store.get_record(notice_id)
        if record is None:
            raise HTTPException(404, f"no notice with id {notice_id!r}")
        return record

    def search(store: SqliteStore, query: SearchQuery) -> SearchPage:
        if query.cursor:
            try:
                decode_cursor(query.cursor)
            except StoreError as exc:
                raise _cursor_error(query.cursor, exc.message) from exc
        return store.search(query)

    # --- JSON API ------------------------------------------------------------------------
    @app.get("/notices", response_model=SearchPage, responses={503: _ERRORS[503]}, tags=["notices"])
    def list_notices(query: Annotated[SearchQuery, Query()], store: Store) -> SearchPage:
        """Search notices, newest first; pass ``next_cursor`` as ``cursor`` for the next page."""
        return search(store, query)

    @app.get("/notices/{notice_id}", response_model=NoticeRecord, responses=_ERRORS, tags=["notices"])
    def get_notice(notice_id: str, store: Store) -> NoticeRecord:
        """One notice's current record (format v1)."""
        return record_or_404(store, notice_id)

    @app.get(
        "/notices/{notice_id}/versions", response_model=list[VersionInfo], responses=_ERRORS, tags=["notices"]
    )
    def get_versions(notice_id: str, store: Store) -> list[VersionInfo]:
        """Every version of a notice, oldest first: when its bytes were fetched, where they are archived."""
        versions = store.versions(notice_id)
        if not versions:
            record_or_404(store, notice_id)
        return versions

    @app.get(
        "/notices/{notice_id}/raw",
        response_class=Response,
        responses={
            200: {
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                "description": "The response body exactly as archived (a download, never rendered)",
            },
            404: {"model": ErrorMessage, "description": "No such notice, or no archive to read it from"},
            500: {
                "model": ErrorMessage,
                "description": "The archived bytes do not match the record's sha256",
            },
            503: _ERRORS[503],
        },
        tags=["notices"],
    )
    def get_raw(notice_id: str, store: Store) -> Response:
        """The archived response body of the current record, checked against its sha256."""
        record = record_or_404(store, notice_id)
        if archive_dir is None:
            raise HTTPException(
                404, "no archive folder is known for this database: start the server with --archive"
            )
        if not record.source.warc:
            raise HTTPException(404, f"notice {notice_id} has no archived response")
        try:
            fetched = read_record(archive_dir, record.source.warc)
        except StoreError as exc:  # the WARC file is gone or damaged: the record itself is fine
            raise HTTPException(404, f"the archived response is not readable: {exc.message}") from exc
        if hashlib.sha256(fetched.body).hexdigest() != record.source.sha256:
            log.error("archived bytes at %s do not match sha256 of notice %s", record.source.warc, notice_id)
            raise HTTPException(
                500, f"the archived bytes at {record.source.warc} do not match the record's sha256"
            )
        extension = _raw_extension(fetched.content_type or record.source.content_type)
        return Response(
            fetched.body,
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f'attachment; filename="{notice_id}{extension}"',
                "Content-Security-Policy": RAW_CSP,
                "ETag": f'"{record.source.sha256}"',
            },
        )

    # --- HTML ----------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request, store: Store) -> HTMLResponse:
        params = {k: v.strip() for k, v in request.query_params.items() if k in (*_SEARCH_FIELDS, "cursor")}
        given = {k: v for k, v in params.items() if v}
        form = {k: params.get(k, "") for k in _SEARCH_FIELDS}
        form["limit"] = form["limit"] or "20"
        sizes = _PAGE_SIZES if form["limit"] in _PAGE_SIZES else (form["limit"], *_PAGE_SIZES)
        context: dict[str, Any] = {
            "form": form,
            "kinds": list(KIND_LABELS),
            "page_sizes": sizes,
            "results": None,
            "errors": [],
        }
        try:
            query = SearchQuery.model_validate(given)
        except ValidationError as exc:
            context["errors"] = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
            return page("search.html", 422, **context)
        try:
            results = search(store, query)
        except RequestValidationError:
            context["errors"] = ["cursor: 翻页参数无效 not a valid page cursor"]
            return page("search.html", 422, **context)
        context["results"] = results
        context["paged"] = bool(query.cursor)
        first = {k: v for k, v in given.items() if k != "cursor"}
        context["first_link"] = "/?" + urllib.parse.urlencode(first)
        if results.next_cursor:
            context["next_link"] = "/?" + urllib.parse.urlencode({**first, "cursor": results.next_cursor})
        return page("search.html", **context)

    @app.get("/n/{notice_id}", response_class=HTMLResponse, include_in_schema=False)
    def notice_page(notice_id: str, store: Store) -> HTMLResponse:
        record = store.get_record(notice_id)
        if record is None:
            return page(
                "error.html", 404, title="未找到 Not found", message=f"no notice with id {notice_id!r}"
            )
        return page(
            "notice.html",
            record=record,
            versions=store.versions(notice_id),
            raw_available=archive_dir is not None and record.source.warc is not None,
        )

    return app


class _HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for the request head: a client that connects and
    then sends its headers a byte at a time (or nothing) is cut off after ``header_timeout``
    seconds, instead of holding a connection slot for ever (1,100 such clients made the API time
    out). The clock restarts after every response, for the next request on the connection."""

    header_timeout = 10.0

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._responses = 0
        self._arm()

    def _arm(self) -> None:
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_overdue, self._responses)

    def _head_overdue(self, responses: int) -> None:
        # no response on this connection since the timer was set and no request under way
        idle = self.cycle is None or self.cycle.response_complete
        if self._responses == responses and idle and not self.transport.is_closing():
            self.transport.close()

    def on_response_complete(self) -> None:
        self._responses += 1
        self._head_timer.cancel()
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
        super().connection_lost(exc)


class RateLimitedLog(logging.Filter):
    """Lets one record of a given message through per ``seconds``; the next one that passes
    says how many were held back. Under a flood of refused connections uvicorn would log
    'Exceeded concurrency limit.' once per connection (a flood wrote 90 MB in 15 s)."""

    def __init__(self, seconds: float = 5.0) -> None:
        super().__init__()
        self.seconds = seconds
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        import time

        key = str(record.msg)
        now = time.monotonic()
        if now - self._last.get(key, -1e18) < self.seconds:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last {self.seconds:g} s)"
        return True


def server_config(app: Any, host: str, port: int, settings: Settings | None = None) -> uvicorn.Config:
    """The uvicorn configuration `notices serve` runs: a connection cap (503 beyond it, well below
    the process's file limit), keep-alive and request-head timeouts."""
    settings = settings or Settings()
    protocol = type(
        "HeaderTimeoutProtocol", (_HeaderTimeoutProtocol,), {"header_timeout": settings.api_header_timeout}
    )
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        server_header=False,
        http=protocol,
        limit_concurrency=settings.api_max_connections,
        timeout_keep_alive=int(max(1, settings.api_keep_alive_timeout)),
    )


def serve(db: Path, archive: Path | None = None, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the service with uvicorn until interrupted. Raises StoreError before listening when
    the database cannot be served."""
    app = create_app(db, archive)
    server = uvicorn.Server(server_config(app, host, port))
    logging.getLogger("uvicorn.error").addFilter(RateLimitedLog())
    server.run()
