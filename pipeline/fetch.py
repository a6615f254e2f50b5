"""Stage fetch: URL → archived response + FetchOutcome. The only module that imports requests.

Manners, in the order a request meets them:

1. **robots.txt** (RFC 9309, parsed by ``pipeline.robots``) per origin, cached at most
   ``robots_ttl_hours``; 4xx = allowed, 5xx or unreachable = disallowed for
   ``robots_retry_minutes``. A refused URL is a permanent failure with reason ``robots``;
   no request is sent.
2. **Addresses.** The host is resolved and every address checked before connecting: loopback
   and private networks only when the site allows them (``allow_private_addresses``);
   link-local, multicast, unspecified and cloud metadata addresses never.
3. **Politeness per host** (``HostGate``): at most N requests in flight and a delay between
   request starts of max(min_delay, Crawl-delay, latency_factor × recent latency); 429/503
   ``Retry-After`` pushes the whole host back.
4. **Redirects** are followed by hand, hop by hop, each hop re-checked (scheme, allowed host,
   address, robots), at most ``max_redirects``, loops detected.
5. **Body caps.** The body is read in chunks and decompressed here (not by urllib3) with
   ``zlib``'s ``max_length``, so a gzip bomb stops at the cap without inflating in memory;
   a response over the cap is archived truncated and fails with ``too_large``. A response
   that takes longer than ``fetch_deadline`` in total is cut (``timeout``).
6. **Retries** with exponential backoff and jitter only for transient failures (timeouts,
   connection errors, truncated bodies, 5xx, 429); everything else is final.
7. **Conditional GET** with the stored ETag / Last-Modified; a 304, or a 200 whose body
   hashes like the stored one, is ``unchanged``.

Every response (each redirect hop and each retry too) is written to the archive with its
request. ``fetch`` never raises for a page's failure: it returns a FetchOutcome with the
reason, so a batch always completes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import hashlib
import ipaddress
import logging
import random
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions
from requests.utils import requote_uri

from pipeline import __version__
from pipeline.archive import Archive, Exchange
from pipeline.errors import StoreError
from pipeline.patterns import load
from pipeline.robots import MAX_ROBOTS_BYTES, RobotsPolicy, policy_for_status
from pipeline.settings import Settings
from schemas.crawl import FailureReason, FetchOutcome, FetchRequest, UrlKind, WarcLocation
from schemas.stages import FetchResult
from schemas.urls import web_url

__all__ = ["Fetched", "Fetcher", "HostGate", "address_refusal", "origin_of"]

_CHUNK = 64 * 1024
_HOST_TROUBLE = frozenset({"server_error", "timeout", "connection", "truncated"})  # counts for the breaker
log = logging.getLogger(__name__)
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254", "fd00:ec2::23")
)


def origin_of(url: str) -> str:
    """scheme://host[:port] — the unit of robots.txt and of politeness."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}"


def host_of(url: str) -> str:
    """The host name of a URL, lower-case, without a trailing dot, IDN as punycode."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return host.lower()


def address_refusal(address: str, *, allow_private: bool) -> str | None:
    """Why a crawler must not connect to ``address`` (None when it may)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"not an IP address: {address!r}"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_multicast or ip.is_unspecified:
        return f"{ip} is not a unicast address"
    if not ip.is_global and not allow_private:
        kind = "loopback" if ip.is_loopback else "private"
        return f"{ip} is a {kind} address (the site does not allow private addresses)"
    return None


# --- politeness --------------------------------------------------------------------------
@dataclass
class HostGate:
    """Per-host concurrency, spacing of request starts, pauses and a circuit breaker."""

    min_delay: float
    max_concurrent: int
    latency_factor: float
    max_delay: float
    max_pause: float = 300.0
    failure_limit: int = 10
    crawl_delay: float = 0.0
    in_flight: int = 0
    next_start: float = 0.0
    last_start: float = 0.0
    latency: float = 0.0  # exponentially weighted, seconds
    consecutive_failures: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def delay(self) -> float:
        adaptive = self.latency_factor * self.latency
        return min(max(self.min_delay, self.crawl_delay, adaptive), max(self.max_delay, self.min_delay))

    def set_crawl_delay(self, seconds: float) -> None:
        """robots.txt's Crawl-delay, applied from the very next request (not the one after)."""
        with self._cond:
            self.crawl_delay = min(seconds, self.max_delay)
            self.next_start = max(self.next_start, self.last_start + self.delay())

    def acquire(self) -> None:
        """Wait for a slot; raise _Failure at once when the host asked for a long pause or is down."""
        with self._cond:
            while True:
                now = time.monotonic()
                if self.consecutive_failures >= self.failure_limit:
                    raise _Failure(
                        "host_unavailable",
                        f"{self.consecutive_failures} failures in a row from this host: skipped for this run",
                        transient=True,
                    )
                if self.next_start - now > self.max_pause:
                    raise _Failure(
                        "rate_limited",
                        f"the host asked for a pause of {self.next_start - now:.0f} s (Retry-After)",
                        transient=True,
                    )
                if self.in_flight < self.max_concurrent and now >= self.next_start:
                    self.in_flight += 1
                    self.last_start = now
                    self.next_start = now + self.delay()
                    return
                wait = max(self.next_start - now, 0.0) if self.in_flight < self.max_concurrent else 1.0
                self._cond.wait(timeout=max(wait, 0.001))

    def release(self, latency: float | None) -> None:
        with self._cond:
            self.in_flight -= 1
            if latency is not None:
                self.latency = latency if self.latency == 0 else 0.7 * self.latency + 0.3 * latency
            self._cond.notify_all()

    def outcome(self, *, ok: bool) -> None:
        """Count consecutive transient failures (5xx, timeouts, connection errors) for the breaker."""
        with self._cond:
            self.consecutive_failures = 0 if ok else self.consecutive_failures + 1

    def defer(self, seconds: float) -> None:
        """Nobody starts a request to this host for ``seconds`` (Retry-After)."""
        with self._cond:
            self.next_start = max(self.next_start, time.monotonic() + seconds)
            self._cond.notify_all()


# --- the deadline on a response's head ------------------------------------------------------
_current = threading.local()


class _WatchedConnectionMixin:
    """Lets the request's watchdog find the connection (and its socket) it runs on."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        watchdog = getattr(_current, "watchdog", None)
        if watchdog is not None:
            watchdog.connection = self
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_WatchedConnectionMixin, urllib3.connection.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnectionMixin, urllib3.connection.HTTPSConnection):
    pass


class _WatchedHTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _Watchdog:
    """Shuts the socket of a request whose head has not arrived within the deadline.

    requests' read timeout is per read, so a server dripping header bytes would hold a worker
    (and the host's slot) for ever; the body has its own check in ``_read_body``.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.connection: Any = None
        self.fired = False
        self._timer: threading.Timer | None = None

    def _fire(self) -> None:
        self.fired = True
        sock = getattr(self.connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Watchdog:
        _current.watchdog = self
        self._timer = threading.Timer(self.seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        _current.watchdog = None


# --- one hop -----------------------------------------------------------------------------
class _Failure(Exception):
    """A failed hop, with its reason code; ``transient`` decides whether to retry."""

    def __init__(self, reason: FailureReason, message: str, *, transient: bool, status: int | None = None,
                 retry_after: float | None = None, location: WarcLocation | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.reason: FailureReason = reason
        self.message = message
        self.transient = transient
        self.status = status
        self.retry_after = retry_after
        self.location = location


@dataclass
class _Hop:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    location: WarcLocation | None
    elapsed: float


@dataclass
class Fetched:
    """A fetch's outcome and, when it produced one, the response (body included)."""

    outcome: FetchOutcome
    result: FetchResult | None = None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - dt.datetime.now(dt.UTC)).total_seconds(), 0.0)


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


class _Decoder:
    """Content-Encoding decoding with an output cap (a bomb never inflates past it)."""

    def __init__(self, coding: str | None) -> None:
        self.coding = (coding or "identity").strip().lower()
        if self.coding not in ("gzip", "x-gzip", "deflate", "identity", ""):
            raise _Failure("bad_encoding", f"unsupported Content-Encoding {self.coding!r}", transient=False)
        wbits = zlib.MAX_WBITS | 16 if self.coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._z = zlib.decompressobj(wbits) if self.coding not in ("identity", "") else None
        self._first = True

    def feed(self, data: bytes, room: int) -> bytes:
        """Decoded bytes of ``data``, at most ``room + 1`` (one more than fits = over the cap)."""
        if self._z is None:
            return data[: room + 1]
        try:
            try:
                out = self._z.decompress(data, room + 1)
            except zlib.error:
                # 'deflate' is zlib-wrapped by the RFC but raw deflate from many servers
                if not (self._first and self.coding == "deflate"):
                    raise
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._z.decompress(data, room + 1)
            self._first = False
            return out
        except zlib.error as exc:
            msg = f"body does not decompress as {self.coding}: {exc}"
            raise _Failure("bad_encoding", msg, transient=False) from exc


def _allowed_types(kind: UrlKind) -> tuple[str, ...]:
    types = load("fetch")["content_types"]
    return tuple(types.get(kind, ()))


def _looks_like_html(body: bytes) -> bool:
    head = body[:2048].lower()
    return any(marker in head for marker in (b"<html", b"<!doctype html", b"<head", b"<body", b"<meta"))


class Fetcher:
    """One requests.Session, per-host gates, a robots cache and an archive: fetch URLs politely."""

    def __init__(
        self,
        settings: Settings,
        archive: Archive | None,
        *,
        host_allowed: Callable[[str], bool],
        allow_private: bool = False,
        min_delay: float | None = None,
        max_concurrent: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        robots_archive: Callable[[str, float], tuple[int, bytes, float] | None] | None = None,
    ) -> None:
        self.settings = settings
        self.archive = archive
        self.host_allowed = host_allowed
        self.allow_private = allow_private
        self.min_delay = settings.min_delay if min_delay is None else min_delay
        self.max_concurrent = max_concurrent or settings.max_concurrent_per_host
        self.user_agent = f"{settings.user_agent_name}/{__version__} (+{settings.contact_url})"
        self.session = requests.Session()
        self.session.headers.update(
            {
                "User-Agent": self.user_agent,
                "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                "Accept-Language": "zh-CN,zh;q=0.9",
                "Accept-Encoding": "gzip, deflate",
            }
        )
        self.session.trust_env = False  # no proxies or .netrc from the environment
        adapter = _WatchedAdapter(pool_connections=16, pool_maxsize=max(settings.fetch_workers, 4))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._sleep = sleep
        self._robots_archive = robots_archive
        self.archive_error: StoreError | None = None  # the first archive write failure: stops fetching
        self._gates: dict[str, HostGate] = {}
        self._robots: dict[str, tuple[RobotsPolicy, float]] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._dns: dict[tuple[str, int], tuple[list[str], float]] = {}

    # --- shared state --------------------------------------------------------------------
    def gate(self, url: str) -> HostGate:
        """The politeness gate of the URL's host (http and https, any port, share one)."""
        key = host_of(url)
        with self._lock:
            gate = self._gates.get(key)
            if gate is None:
                gate = HostGate(
                    min_delay=self.min_delay,
                    max_concurrent=self.max_concurrent,
                    latency_factor=self.settings.latency_factor,
                    max_delay=self.settings.max_delay,
                    max_pause=self.settings.max_retry_after,
                    failure_limit=self.settings.host_failure_limit,
                )
                self._gates[key] = gate
            return gate

    def robots(self, url: str) -> RobotsPolicy:
        """The robots.txt policy for the origin of ``url`` (fetched and cached as needed)."""
        origin = origin_of(url)
        with self._lock:
            lock = self._robots_locks.setdefault(origin, threading.Lock())
        with lock:
            cached = self._robots.get(origin)
            if cached and cached[1] > time.monotonic():
                return cached[0]
            policy, ttl = self._fetch_robots(origin)
            self._robots[origin] = (policy, time.monotonic() + ttl)
            if policy.crawl_delay:
                self.gate(url).set_crawl_delay(policy.crawl_delay)
            return policy

    def _fetch_robots(self, origin: str) -> tuple[RobotsPolicy, float]:
        ttl = self.settings.robots_ttl_hours * 3600
        retry = self.settings.robots_retry_minutes * 60
        url = origin + "/robots.txt"
        if self._robots_archive is not None:  # a robots.txt archived less than ttl ago is still good
            archived = self._robots_archive(url, ttl)
            if archived is not None:
                status, body, age = archived
                policy = policy_for_status(status, body, self.settings.user_agent_name)
                if policy.source != "disallow_all":
                    return policy, ttl - age
        try:  # RFC 9309 §2.3.1.2: follow at least five redirects, to any host (addresses still checked)
            hop = self._follow(
                FetchRequest(url=url, kind="robots"), max_hops=5, check_robots=False, any_host=True
            )
        except _Failure as failure:
            if failure.status is not None and 400 <= failure.status < 500 and failure.status != 429:
                return RobotsPolicy.allow_all(), ttl  # 'unavailable': allowed
            return RobotsPolicy.disallow_all(), retry  # 'unreachable' (5xx, network, redirect trouble)
        policy = policy_for_status(hop.status, hop.body, self.settings.user_agent_name)
        return policy, ttl if policy.source != "disallow_all" else retry

    def _resolve(self, host: str, port: int) -> list[str]:
        key = (host, port)
        cached = self._dns.get(key)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise _Failure("connection", f"cannot resolve {host}: {exc}", transient=True) from exc
        addresses = sorted({str(info[4][0]) for info in infos})
        self._dns[key] = (addresses, time.monotonic() + 60)
        return addresses

    # --- hops ----------------------------------------------------------------------------
    def _check_target(self, url: str, *, first: bool, check_robots: bool, any_host: bool = False) -> None:
        checked = web_url(url)
        try:
            if checked is None or urlsplit(checked).hostname != urlsplit(url).hostname:
                # user info, a backslash or an escape in the authority: urlsplit and urllib3 could
                # read different hosts, and only one of them would have been checked
                msg = f"URL whose host parsers read differently: {url!r}"
                raise _Failure("bad_url", msg, transient=False)
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            host = parts.hostname
        except ValueError as exc:
            raise _Failure("bad_url", f"invalid URL {url!r}: {exc}", transient=False) from exc
        if parts.scheme not in ("http", "https") or not host:
            raise _Failure("bad_url", f"not an http(s) URL: {url!r}", transient=False)
        if not any_host and not self.host_allowed(url):
            reason: FailureReason = "bad_url" if first else "off_site"
            raise _Failure(reason, f"{host} is not one of the site's allowed hosts", transient=False)
        for address in self._resolve(host, port):
            refusal = address_refusal(address, allow_private=self.allow_private)
            if refusal:
                raise _Failure("blocked_address", f"{host} resolves to {refusal}", transient=False)
        if check_robots:
            policy = self.robots(url)
            if policy.source == "disallow_all":  # robots.txt answered 5xx or not at all: wait, retry later
                msg = f"robots.txt of {origin_of(url)} is unreachable (5xx or no answer): nothing fetched for now"
                raise _Failure("robots_unavailable", msg, transient=True)
            if not policy.allowed(url):
                raise _Failure("robots", f"robots.txt of {origin_of(url)} disallows {url}", transient=False)

    def _one_hop(
        self, url: str, kind: UrlKind, headers: dict[str, str], budget: list[float] | None = None
    ) -> _Hop:
        """One request. ``budget`` holds the seconds of ``fetch_deadline`` the URL has left over
        its redirects (time in requests only: waiting for the host's politeness slot is not
        counted); this hop spends from it."""
        cap = self.settings.max_attachment_bytes if kind == "attachment" else self.settings.max_download_bytes
        if kind == "robots":
            cap = MAX_ROBOTS_BYTES  # RFC 9309 §2.5: the first 500 KiB are parsed, the rest ignored
        budget = budget if budget is not None else [self.settings.fetch_deadline]
        if budget[0] <= 0:
            msg = (
                f"no complete response for {url} within {self.settings.fetch_deadline:g} s over its redirects"
            )
            raise _Failure("timeout", msg, transient=True)
        gate = self.gate(url)
        gate.acquire()
        started = time.monotonic()
        fetched_at = dt.datetime.now(dt.UTC)
        latency: float | None = None
        watchdog = _Watchdog(budget[0])
        try:
            try:
                with watchdog:
                    resp = self.session.get(
                        url,
                        headers=headers,
                        stream=True,
                        allow_redirects=False,
                        timeout=(self.settings.connect_timeout, self.settings.read_timeout),
                    )
            except requests.exceptions.Timeout as exc:
                raise _Failure("timeout", f"no response from {url} in time: {exc}", transient=True) from exc
            except (requests.exceptions.ConnectionError, requests.exceptions.InvalidURL) as exc:
                if watchdog.fired:
                    msg = f"no complete response head from {url} within {self.settings.fetch_deadline:g} s"
                    raise _Failure("timeout", msg, transient=True) from exc
                raise _Failure("connection", f"cannot connect for {url}: {exc}", transient=True) from exc
            except requests.exceptions.RequestException as exc:
                raise _Failure("connection", f"request for {url} failed: {exc}", transient=True) from exc
            if watchdog.fired:  # the head was cut short by the watchdog: whatever parsed is not a response
                resp.close()
                msg = f"no complete response head from {url} within {self.settings.fetch_deadline:g} s"
                raise _Failure("timeout", msg, transient=True)
            try:
                body, truncated, failure = self._read_body(
                    resp, cap, started, prefix_ok=kind == "robots", seconds=budget[0]
                )
            finally:
                resp.close()
            latency = time.monotonic() - started
        finally:
            budget[0] -= time.monotonic() - started
            gate.release(latency)
        resp_headers = [(k, v) for k, v in resp.raw.headers.items()] if resp.raw is not None else []
        location = None
        if self.archive is not None:
            version = {10: "HTTP/1.0", 11: "HTTP/1.1"}.get(getattr(resp.raw, "version", 11), "HTTP/1.1")
            request_headers = [(k, str(v)) for k, v in resp.request.headers.items()]
            host = urlsplit(url).netloc
            if not any(k.lower() == "host" for k, _ in request_headers):
                request_headers.insert(0, ("Host", host))
            location = self.archive.write(
                Exchange(
                    url=url,
                    kind=kind,
                    request_headers=request_headers,
                    status=resp.status_code,
                    reason=resp.reason or "",
                    http_version=version,
                    response_headers=resp_headers,
                    body=body,
                    fetched_at=fetched_at,
                    truncated=truncated,
                )
            )
        if failure is not None and not (kind == "robots" and failure.reason == "too_large"):
            failure.location = location
            failure.status = resp.status_code
            raise failure
        return _Hop(url, resp.status_code, dict(resp.headers), body, location, latency or 0.0)

    def _read_body(
        self, resp: requests.Response, cap: int, started: float, *, prefix_ok: bool = False,
        seconds: float | None = None,
    ) -> tuple[bytes, str | None, _Failure | None]:  # fmt: skip
        """(decoded body, WARC-Truncated value, failure) — the bytes read so far are kept.
        ``prefix_ok``: a body over the cap is read up to it (robots.txt), not refused unread."""
        length = resp.headers.get("Content-Length", "")
        if (
            not prefix_ok
            and length.isdigit()
            and int(length) > cap
            and resp.headers.get("Content-Encoding") is None
        ):
            msg = f"Content-Length {int(length):,} is over the cap of {cap:,} bytes"
            return b"", "length", _Failure("too_large", msg, transient=False)
        chunks: list[bytes] = []
        size = 0
        wire = 0
        deadline = started + (self.settings.fetch_deadline if seconds is None else seconds)
        try:
            decoder = _Decoder(resp.headers.get("Content-Encoding"))
            while True:
                # read1: whatever has arrived (≤ _CHUNK), so the deadline is checked as bytes drip in
                data = resp.raw.read1(_CHUNK, decode_content=False)
                if not data:
                    break
                wire += len(data)
                out = decoder.feed(data, cap - size)
                size += len(out)
                chunks.append(out)
                if size > cap or wire > cap:
                    body = b"".join(chunks)[:cap]
                    msg = f"body is over the cap of {cap:,} bytes (decompressed)"
                    return body, "length", _Failure("too_large", msg, transient=False)
                if time.monotonic() > deadline:
                    msg = f"response took longer than {self.settings.fetch_deadline:g} s"
                    return b"".join(chunks), "time", _Failure("timeout", msg, transient=True)
        except _Failure as failure:
            return b"".join(chunks), None, failure
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError) as exc:
            return (
                b"".join(chunks),
                "disconnect",
                _Failure("timeout", f"read timed out: {exc}", transient=True),
            )
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.HTTPError, OSError) as exc:
            msg = f"connection closed before the body was complete: {exc}"
            return b"".join(chunks), "disconnect", _Failure("truncated", msg, transient=True)
        return b"".join(chunks), None, None

    def _follow(
        self,
        req: FetchRequest,
        *,
        max_hops: int | None = None,
        check_robots: bool = True,
        any_host: bool = False,
    ) -> _Hop:
        """GET ``req.url`` following redirects by hand; the final hop (2xx/304) or a _Failure."""
        max_hops = self.settings.max_redirects if max_hops is None else max_hops
        url = req.url
        seen = {url}
        headers: dict[str, str] = {}
        if req.etag:
            headers["If-None-Match"] = req.etag
        if req.last_modified:
            headers["If-Modified-Since"] = req.last_modified
        hops = 0
        budget = [self.settings.fetch_deadline]  # one deadline for the URL, not one per redirect hop
        while True:
            self._check_target(url, first=hops == 0, check_robots=check_robots, any_host=any_host)
            hop = self._one_hop(url, req.kind, headers, budget)
            if hop.status in (301, 302, 303, 307, 308):
                target = _header(hop.headers, "location")
                if not target:
                    raise _Failure("http_error", f"{hop.status} without Location from {url}", transient=False,
                                   status=hop.status, location=hop.location)  # fmt: skip
                with contextlib.suppress(UnicodeError):  # raw UTF-8 in Location arrives as latin-1
                    target = target.encode("latin-1").decode("utf-8")
                try:
                    nxt = requote_uri(urljoin(url, target.strip()).split("#", 1)[0])
                except ValueError as exc:
                    raise _Failure("bad_url", f"unusable Location {target!r}", transient=False) from exc
                hops += 1
                if nxt in seen:
                    raise _Failure("redirect_loop", f"redirect loop at {nxt}", transient=False,
                                   status=hop.status, location=hop.location)  # fmt: skip
                if hops > max_hops:
                    raise _Failure("too_many_redirects", f"more than {max_hops} redirects from {req.url}",
                                   transient=False, status=hop.status, location=hop.location)  # fmt: skip
                seen.add(nxt)
                url = nxt
                headers = {}  # validators belong to the first URL only
                continue
            hop.url = url
            return hop

    def _classify(self, hop: _Hop, *, conditional: bool) -> None:
        """Raise the _Failure a non-success final status means."""
        status = hop.status
        if 200 <= status < 300 or (status == 304 and conditional):
            return
        if status == 304:
            msg = f"304 Not Modified to a request without validators: {hop.url}"
            raise _Failure("http_error", msg, transient=False, status=status, location=hop.location)
        retry_after = _retry_after(_header(hop.headers, "retry-after"))
        loc = hop.location
        if status == 404:
            raise _Failure(
                "not_found", f"404 Not Found: {hop.url}", transient=False, status=status, location=loc
            )
        if status == 410:
            raise _Failure("gone", f"410 Gone: {hop.url}", transient=False, status=status, location=loc)
        if status == 429:
            raise _Failure("rate_limited", f"429 Too Many Requests: {hop.url}", transient=True, status=status,
                           retry_after=retry_after, location=loc)  # fmt: skip
        if status >= 500:
            reason: FailureReason = (
                "rate_limited" if status == 503 and retry_after is not None else "server_error"
            )
            raise _Failure(reason, f"{status} from {hop.url}", transient=True, status=status,
                           retry_after=retry_after if status == 503 else None, location=loc)  # fmt: skip
        raise _Failure("http_error", f"{status} from {hop.url}", transient=False, status=status, location=loc)

    # --- public --------------------------------------------------------------------------
    def fetch(self, req: FetchRequest) -> Fetched:
        """Fetch one URL with retries; never raises for the page's own failure (nor for a bug).

        An archive that cannot be written (a full disk) is no page's failure: it raises
        StoreError, and every fetch after it refuses to start, so nothing more is fetched only
        to be thrown away.
        """
        started = time.monotonic()
        if self.archive_error is not None:
            raise self.archive_error
        try:
            return self._fetch(req, started)
        except StoreError as exc:
            self.archive_error = exc
            raise
        except Exception as exc:  # a bug must cost one page, recorded, not the batch
            log.exception("unexpected error fetching %s", req.url)
            failure = _Failure("unexpected", f"{type(exc).__name__}: {exc}", transient=True)
            return self._failed(req, failure, 1, started)

    def _fetch(self, req: FetchRequest, started: float) -> Fetched:
        attempts = 0
        gate = self.gate(req.url)
        while True:
            attempts += 1
            try:
                hop = self._follow(req)
                self._classify(hop, conditional=bool(req.etag or req.last_modified))
                gate.outcome(ok=True)
                return self._success(req, hop, attempts, started)
            except _Failure as failure:
                if failure.reason in _HOST_TROUBLE:
                    gate.outcome(ok=False)
                wait = self.settings.backoff_base * (2 ** (attempts - 1)) * random.uniform(0.75, 1.25)
                if failure.retry_after is not None:
                    gate.defer(failure.retry_after)  # the whole host waits, whatever happens to this URL
                    if failure.retry_after > self.settings.max_retry_after:
                        failure.message += f" (Retry-After {failure.retry_after:g} s is beyond the limit)"
                        return self._failed(req, failure, attempts, started)
                    wait = max(wait, failure.retry_after)
                if not failure.transient or attempts > self.settings.fetch_retries:
                    return self._failed(req, failure, attempts, started)
                if failure.reason in ("host_unavailable", "rate_limited") and failure.status is None:
                    return self._failed(req, failure, attempts, started)  # the gate refused: no retry now
                self._sleep(wait)

    def fetch_many(self, reqs: list[FetchRequest]) -> Iterator[Fetched]:
        """Fetch URLs on ``fetch_workers`` threads (per-host gates keep the manners).

        Outcomes come in completion order and without bodies (they are in the archive), so a
        batch never holds more than ``fetch_workers`` bodies in memory.
        """
        if len(reqs) <= 1:
            yield from (Fetched(self.fetch(r).outcome) for r in reqs)
            return
        with ThreadPoolExecutor(max_workers=min(self.settings.fetch_workers, len(reqs))) as pool:
            futures = [pool.submit(lambda r: Fetched(self.fetch(r).outcome), r) for r in reqs]
            try:
                for future in as_completed(futures):
                    yield future.result()
            except StoreError:
                pool.shutdown(wait=True, cancel_futures=True)  # nothing more starts
                raise

    def _success(self, req: FetchRequest, hop: _Hop, attempts: int, started: float) -> Fetched:
        now = dt.datetime.now(dt.UTC)
        ctype = _header(hop.headers, "content-type")
        base = {
            "url": req.url,
            "kind": req.kind,
            "final_url": hop.url,
            "http_status": hop.status,
            "attempts": attempts,
            "fetched_at": now,
            "elapsed_ms": (time.monotonic() - started) * 1000,
            "content_type": ctype,
            "etag": _header(hop.headers, "etag") or req.etag,
            "last_modified": _header(hop.headers, "last-modified") or req.last_modified,
            "warc": hop.location,
        }
        if hop.status == 304:
            return Fetched(FetchOutcome(outcome="unchanged", sha256=req.previous_sha256, **base))
        sha = hashlib.sha256(hop.body).hexdigest()
        mime = (ctype or "").split(";", 1)[0].strip().lower()
        allowed = _allowed_types(req.kind)
        if allowed and mime not in allowed:
            generic = mime in ("", "application/octet-stream", "text/plain")
            if not (generic and req.kind in ("notice", "list") and _looks_like_html(hop.body)) and not (
                generic and req.kind not in ("notice", "list")
            ):
                msg = f"{mime or 'no Content-Type'} is not allowed for a {req.kind} URL"
                return Fetched(
                    FetchOutcome(outcome="failed", reason="content_type", message=msg, sha256=sha, **base)
                )
        outcome = "unchanged" if req.previous_sha256 == sha else "fetched"
        result = FetchResult(
            url=req.url,
            final_url=hop.url,
            status=hop.status,
            headers=hop.headers,
            body=hop.body,
            fetched_at=now,
            warc=str(hop.location) if hop.location else None,
        )
        return Fetched(FetchOutcome(outcome=outcome, sha256=sha, **base), result)

    def _failed(self, req: FetchRequest, failure: _Failure, attempts: int, started: float) -> Fetched:
        return Fetched(
            FetchOutcome(
                url=req.url,
                kind=req.kind,
                outcome="failed",
                http_status=failure.status,
                reason=failure.reason,
                message=failure.message,
                attempts=attempts,
                fetched_at=dt.datetime.now(dt.UTC),
                elapsed_ms=(time.monotonic() - started) * 1000,
                warc=failure.location,
            )
        )

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
