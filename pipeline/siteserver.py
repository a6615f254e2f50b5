"""A static web server for a site folder on 127.0.0.1: the demo's and the tests' government site.

It behaves like a plain government web server: ETag and Last-Modified with 304 answers to
conditional requests, optional gzip, ``index.html`` for folders, per-path Content-Type
overrides (to serve a page with the header its real server sent), and text substitutions
(absolute URLs in ``robots.txt``/``sitemap.xml`` written for another port). Every request is
logged in ``requests`` so tests can check what a crawler asked for. Extra ``routes`` (path →
handler function) let tests add misbehaving answers.

Only ever binds to 127.0.0.1.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import mimetypes
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["LoggedRequest", "SiteServer", "serve_site"]

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".shtml": "text/html; charset=utf-8",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".png": "image/png",
}


@dataclass
class LoggedRequest:
    method: str
    path: str
    headers: dict[str, str]
    at: float = 0.0  # time.monotonic() on arrival


Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class SiteServer:
    root: Path
    content_types: dict[str, str] = field(default_factory=dict)
    replace: dict[bytes, bytes] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)
    gzip: bool = False
    requests: list[LoggedRequest] = field(default_factory=list)
    base_url: str = ""
    in_flight: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def paths(self, method: str = "GET") -> list[str]:
        with self._lock:
            return [r.path for r in self.requests if r.method == method]

    def body_for(self, path: str) -> tuple[bytes, str] | None:
        """(bytes, content type) of a site path, after substitutions; None when absent."""
        rel = unquote(path).lstrip("/")
        target = (self.root / rel).resolve()
        root = self.root.resolve()
        if target != root and root not in target.parents:
            return None
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return None
        data = target.read_bytes()
        ctype = self.content_types.get(path) or _TYPES.get(target.suffix.lower())
        ctype = ctype or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if self.replace and (ctype.startswith("text/") or "xml" in ctype):
            for old, new in self.replace.items():
                data = data.replace(old, new)
        return data, ctype


def _handler(site: SiteServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "gov-site/1.0"
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # keep-alive + Nagle + delayed ACK = 40 ms per response
        wbufsize = 64 * 1024  # headers and body leave in one write; flushed after each request

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self._serve(head=True)

        def do_GET(self) -> None:
            self._serve(head=False)

        def _serve(self, *, head: bool) -> None:
            with site._lock:
                site.requests.append(
                    LoggedRequest(self.command, self.path, dict(self.headers.items()), time.monotonic())
                )
                site.in_flight += 1
                site.max_in_flight = max(site.max_in_flight, site.in_flight)
            try:
                self._answer(head=head)
            finally:
                with site._lock:
                    site.in_flight -= 1

        def _answer(self, *, head: bool) -> None:
            path = urlsplit(self.path).path
            route = site.routes.get(path)
            if route is not None:
                route(self)
                return
            found = site.body_for(path)
            if found is None:
                self._send(404, b"<html><body><h1>404 Not Found</h1></body></html>", "text/html", head=head)
                return
            data, ctype = found
            etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
            file = (site.root / unquote(path).lstrip("/")).resolve()
            mtime = (file / "index.html" if file.is_dir() else file).stat().st_mtime
            last_modified = email.utils.formatdate(mtime, usegmt=True)
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            if (inm and inm == etag) or (not inm and ims == last_modified):
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", last_modified)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            headers = {"ETag": etag, "Last-Modified": last_modified}
            if (
                site.gzip
                and "gzip" in (self.headers.get("Accept-Encoding") or "")
                and ctype.startswith("text/")
            ):
                data = gzip.compress(data, mtime=0)
                headers["Content-Encoding"] = "gzip"
            self._send(200, data, ctype, head=head, extra=headers)

        def _send(
            self, status: int, data: bytes, ctype: str, *, head: bool, extra: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if not head:
                self.wfile.write(data)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up (the crawler gave up on a slow answer) is not an error here."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextmanager
def serve_site(
    root: Path | str,
    *,
    port: int = 0,
    content_types: dict[str, str] | None = None,
    replace: dict[str, str] | None = None,
    routes: dict[str, Route] | None = None,
    gzip: bool = False,
) -> Iterator[SiteServer]:
    """Serve ``root`` on http://127.0.0.1:<port>/ in a background thread while the block runs.

    ``replace`` maps text to substitute in text responses; the placeholder ``{base}`` in a
    replacement is the server's own base URL (e.g. ``{"http://127.0.0.1:8000": "{base}"}``).
    """
    site = SiteServer(
        Path(root), content_types=dict(content_types or {}), routes=dict(routes or {}), gzip=gzip
    )
    httpd = _QuietServer(("127.0.0.1", port), _handler(site))
    httpd.daemon_threads = True
    site.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    site.replace = {
        k.encode(): v.replace("{base}", site.base_url).encode() for k, v in (replace or {}).items()
    }
    thread = threading.Thread(target=httpd.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
