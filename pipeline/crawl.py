"""One crawl of one site: discover → fetch → archive → extract → store, in batches.

``Crawler`` owns the run's resources (one Fetcher with its session and host gates, one
Archive writer, one SqliteStore) and exposes the steps the Prefect flow wires together
(``flows/crawl.py``); every step is a plain method, so tests and the CLI can drive it
without Prefect.

Order of a run:

1. ``recover()``: repair the archive after a kill and adopt responses it holds that the
   store never recorded; they are extracted from the archive, not fetched again.
2. ``discover()``: walk each start URL's list pages (pagination by links and by TRS
   ``createPageHTML``) and the sitemaps. A start URL whose pagination was walked to the end
   before is walked only until a list page brings nothing new (incremental); list pages a
   killed run already archived are read back from the archive.
3. ``fetch_batch()`` over ``due("notice")``: new URLs, transient failures, and known notices
   due for their slow re-check (conditional GET).
4. ``extract_batch()``: archived responses → records → store (new / new version / same).
5. attachments found in records and lists are archived (``fetch_batch`` over attachments).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pipeline import __version__
from pipeline.archive import Archive, ArchiveEntry
from pipeline.decode import decode_body
from pipeline.discover import frontier_url, parse_list_page, parse_sitemap
from pipeline.errors import DecodeError, PipelineError
from pipeline.fetch import Fetcher, origin_of
from pipeline.patterns import patterns_hash
from pipeline.record import ascii_url, extract_notice
from pipeline.settings import Settings
from pipeline.store import Capture, SqliteStore, UrlSeen
from schemas.crawl import CrawlSummary, FetchOutcome, FetchRequest, UrlKind
from schemas.record import NoticeRecord
from schemas.site import SiteConfig
from schemas.stages import FetchResult

if TYPE_CHECKING:
    from spacy.language import Language

__all__ = ["Crawler", "ProgressHook", "StepName", "extractor_version"]

log = logging.getLogger(__name__)

StepName = Literal["recover", "discover", "fetch-batch", "extract-batch"]
ProgressHook = Callable[[str, int], None]
"""Called with (event, n): 'found', 'fetched', 'extracted' — for a progress bar."""


def extractor_version() -> str:
    """What produced a record: package version + hash of the pattern files."""
    return f"{__version__}+{patterns_hash()[:12]}"


def _capture(entry: ArchiveEntry) -> Capture:
    return Capture(
        url=entry.url,
        fetched_at=entry.fetched_at,
        kind=entry.kind,
        status=entry.status,
        mime=entry.mime,
        sha256=entry.sha256,
        warc=entry.location,
        truncated=entry.truncated,
    )


class Crawler:
    """The resources and steps of one crawl run of one site."""

    def __init__(
        self,
        site: SiteConfig,
        settings: Settings,
        *,
        db: Path | str,
        archive_dir: Path | str,
        delay: float | None = None,
        refresh: bool = False,
        max_pages: int | None = None,
        progress: ProgressHook | None = None,
    ) -> None:
        self.site = site
        self.settings = settings
        self.refresh = refresh
        self.max_pages = max_pages if max_pages is not None else site.max_pages
        self.progress = progress
        self.store = SqliteStore(db)
        try:
            self.archive = Archive.open(archive_dir, prefix=site.name, max_bytes=settings.warc_max_bytes)
        except BaseException:
            self.store.close()
            raise
        self.fetcher = Fetcher(
            settings,
            self.archive,
            host_allowed=site.host_allowed,
            allow_private=site.allow_private_addresses,
            min_delay=delay if delay is not None else site.politeness.min_delay,
            max_concurrent=site.politeness.max_concurrent,
            robots_archive=self._archived_robots,
        )
        self.run_id = uuid.uuid4().hex[:16]
        self.resume_since: dt.datetime | None = None
        unfinished = self.store.unfinished_run(site.name)
        if unfinished is not None:
            self.resume_since = unfinished[1]
        self.summary = CrawlSummary(
            site=site.name,
            run_id=self.run_id,
            started_at=dt.datetime.now(dt.UTC),
            db=str(Path(db).resolve()),
            archive=str(Path(archive_dir).resolve()),
        )
        self.store.start_run(self.run_id, site.name)
        self._attempted: set[str] = set()
        self._variants: dict[str, set[str]] = {}  # path -> query strings seen this run (trap budget)
        self._nlp: Language | None = None
        self._fetched_notices = 0

    def _archived_robots(self, url: str, max_age: float) -> tuple[int, bytes, float] | None:
        """A robots.txt this crawl archived less than ``max_age`` seconds ago: (status, body, age)."""
        now = dt.datetime.now(dt.UTC)
        capture = self.store.latest_capture(url, since=now - dt.timedelta(seconds=max_age), status=None)
        if capture is None or capture.status is None:
            return None
        return (
            capture.status,
            self.archive.read(capture.warc).body,
            (now - capture.fetched_at).total_seconds(),
        )

    def _entity_nlp(self) -> Language | None:
        """The spaCy entity pipeline, built once per Crawler (per worker) when entities are on."""
        if not self.settings.entities:
            return None
        if self._nlp is None:
            from pipeline.entities import build_nlp

            self._nlp = build_nlp(self.settings)
        return self._nlp

    def _emit(self, event: str, n: int = 1) -> None:
        if self.progress is not None:
            self.progress(event, n)

    # --- 1. recover ----------------------------------------------------------------------
    def recover(self) -> int:
        """Adopt archived responses the store never recorded (a killed run). Returns how many."""
        adopted = 0
        counts = self.archive.response_counts()
        for name, n in counts.items():
            if self.store.capture_count(name) >= n:
                continue
            missing = [e for e in self.archive.file_entries(name) if e.type == "response"]
            missing = [e for e in missing if not self.store.has_capture(e.file, e.offset)]
            captures = [_capture(e) for e in missing]
            with self.store.transaction():
                self.store.add_captures(captures)
                for capture in captures:
                    if self.store.adopt_capture(capture, recheck_days=self.site.recheck_days):
                        adopted += 1
        self.summary.recovered = adopted
        return adopted

    # --- 2. discover ---------------------------------------------------------------------
    def _get(self, url: str, kind: UrlKind) -> FetchResult | None:
        """A list page or sitemap: from this run's archive if a killed run got it, else fetched."""
        if self.resume_since is not None:
            capture = self.store.latest_capture(url, since=self.resume_since)
            if capture is not None:
                return self.archive.read(capture.warc)
        fetched = self.fetcher.fetch(FetchRequest(url=url, kind=kind))
        self._record([fetched.outcome])
        if fetched.outcome.outcome == "failed":
            if kind != "sitemap" or self.site.sitemaps != "auto":
                self.summary.add_failure(fetched.outcome.reason or "unknown")
            return None
        return fetched.result

    def _seen(
        self,
        url: str,
        kind: UrlKind,
        *,
        referrer: str,
        list_title: str | None = None,
        list_date: dt.date | None = None,
        lastmod: dt.date | None = None,
    ) -> UrlSeen | None:
        url = frontier_url(ascii_url(url))
        if not self.site.host_allowed(url):
            return None
        path, _, query = url.partition("?")
        if query:  # a trap makes ever new query strings for one path: remember a few per run
            variants = self._variants.setdefault(path, set())
            if query not in variants:
                if len(variants) >= self.settings.max_query_variants_per_path:
                    self._over_budget("query_variants_per_path")
                    return None
                variants.add(query)
        return UrlSeen(
            url=url, kind=kind, referrer=referrer, list_title=list_title, list_date=list_date, lastmod=lastmod
        )

    def _over_budget(self, name: str, n: int = 1) -> None:
        self.summary.budget[name] = self.summary.budget.get(name, 0) + n

    def discover(self) -> None:
        """Walk list pages and sitemaps; remember every notice and document URL found."""
        found: set[str] = set()
        list_urls: set[str] = set(self.site.start_urls)
        for start in self.site.start_urls:
            full_walk = self.refresh or not self.store.list_walk_done(start)
            queue = [ascii_url(start)]
            visited: set[str] = set()
            stopped = False  # the walk ended early (incremental stop, page cap) or a page failed
            while queue:
                if len(visited) >= self.site.max_list_pages:
                    stopped = True
                    break
                url = queue.pop(0)
                visited.add(url)
                self.store.add_urls(self.site.name, [UrlSeen(url=url, kind="list")])
                result = self._get(url, "list")
                if result is None:
                    stopped = True  # pages behind a failed one may be unknown: walk it all next time
                    continue
                self.summary.list_pages += 1
                try:
                    page = parse_list_page(decode_body(result), self.site.hints)
                except PipelineError as exc:
                    self.summary.add_failure("decode" if isinstance(exc, DecodeError) else "extract")
                    stopped = True
                    continue
                items = []
                links = page.links
                if len(links) > self.settings.max_links_per_list_page:
                    self._over_budget(
                        "links_per_list_page", len(links) - self.settings.max_links_per_list_page
                    )
                    links = links[: self.settings.max_links_per_list_page]
                for link in links:
                    kind: UrlKind = "attachment" if link.is_document else "notice"
                    if kind == "attachment" and not self.site.fetch_attachments:
                        continue
                    item = self._seen(
                        link.url, kind, list_title=link.title, list_date=link.date, referrer=url
                    )
                    if item is not None:
                        items.append(item)
                new = set(self.store.add_urls(self.site.name, items))
                found.update(i.url for i in items if i.kind == "notice")
                self.summary.new_urls += sum(1 for i in items if i.url in new and i.kind == "notice")
                self._emit("found", len(items))
                if self.summary.new_urls >= self.settings.max_new_urls_per_run:
                    self._over_budget("new_urls_per_run", len(queue))
                    stopped = True  # the rest of the walk is for the next run
                    break
                for nxt in (frontier_url(ascii_url(u)) for u in page.pagination):
                    if nxt not in visited and nxt not in queue and self.site.host_allowed(nxt):
                        queue.append(nxt)
                        list_urls.add(nxt)
                if not full_walk and items and not new:
                    stopped = True  # reached notices we already have
                    break
            if not stopped:
                self.store.set_list_walk_done(self.site.name, start)
        self.summary.found += len(found) + self._discover_sitemaps(list_urls, found)

    def _sitemap_urls(self) -> list[str]:
        if self.site.sitemaps == "none":
            return []
        if isinstance(self.site.sitemaps, list):
            return list(self.site.sitemaps)
        out: list[str] = []
        for origin in dict.fromkeys(origin_of(u) for u in self.site.start_urls):
            declared = [u for u in self.fetcher.robots(origin + "/").sitemaps if self.site.host_allowed(u)]
            out += declared or [origin + "/sitemap.xml"]
        return out

    def _discover_sitemaps(self, list_urls: set[str], found: set[str]) -> int:
        import re

        pattern = (
            re.compile(self.site.hints.notice_url_pattern) if self.site.hints.notice_url_pattern else None
        )
        queue = self._sitemap_urls()
        seen: set[str] = set()
        extra = 0
        while queue and len(seen) < 100:
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            result = self._get(url, "sitemap")
            if result is None:
                continue
            try:
                sitemap = parse_sitemap(result.body, url, max_bytes=self.settings.max_download_bytes)
            except PipelineError:
                self.summary.add_failure("extract")
                continue
            queue += [u for u in sitemap.sitemaps if self.site.host_allowed(u)]
            items = []
            from pipeline.attachments import is_document_url

            for entry in sitemap.urls:
                if entry.loc in list_urls or (pattern is not None and not pattern.search(entry.loc)):
                    continue
                kind: UrlKind = "attachment" if is_document_url(entry.loc) else "notice"
                item = self._seen(entry.loc, kind, lastmod=entry.lastmod, referrer=url)
                if item is not None:
                    items.append(item)
            new = set(self.store.add_urls(self.site.name, items))
            notices = {i.url for i in items if i.kind == "notice"}
            extra += len(notices - found)
            self.summary.new_urls += len(notices & new)
            found |= notices
        return extra

    # --- 3. fetch ------------------------------------------------------------------------
    def due(self, kind: UrlKind) -> list[FetchRequest]:
        """What this run should fetch of ``kind`` now (each URL at most once per run)."""
        reqs = [
            r
            for r in self.store.due(self.site.name, kind, refresh=self.refresh)
            if r.url not in self._attempted
        ]
        if kind == "notice" and self.max_pages is not None:
            reqs = reqs[: max(self.max_pages - self._fetched_notices, 0)]
        return reqs

    def _record(self, outcomes: list[FetchOutcome]) -> None:
        with self.store.transaction():
            self.store.add_captures(_capture(e) for e in self.archive.drain())
            for outcome in outcomes:
                self.store.record_fetch(outcome, run_id=self.run_id, recheck_days=self.site.recheck_days)

    def fetch_batch(self, reqs: list[FetchRequest]) -> list[FetchOutcome]:
        """Fetch and archive a batch; record every outcome. Pages stay in the archive."""
        outcomes: list[FetchOutcome] = []
        for req in reqs:
            self._attempted.add(req.url)
        try:
            self._fetch_into(reqs, outcomes)
        finally:  # an archive that cannot be written stops the run: what was fetched is recorded
            self._record(outcomes)
        return outcomes

    def _fetch_into(self, reqs: list[FetchRequest], outcomes: list[FetchOutcome]) -> None:
        for fetched in self.fetcher.fetch_many(reqs):
            outcome = fetched.outcome
            outcomes.append(outcome)
            if outcome.kind == "notice":
                self._fetched_notices += 1
                if outcome.outcome == "fetched":
                    self.summary.fetched += 1
                elif outcome.outcome == "unchanged":
                    self.summary.unchanged += 1
            elif outcome.kind == "attachment" and outcome.outcome == "fetched":
                self.summary.attachments += 1
            if outcome.outcome == "failed":
                self.summary.add_failure(outcome.reason or "unknown")
            self._emit("fetched")

    # --- 4. extract ----------------------------------------------------------------------
    def awaiting_extraction(self) -> int:
        return len(self.store.awaiting_extraction(self.site.name))

    def extract_batch(self, limit: int | None = None) -> int:
        """Archived notices → records → store. Returns how many pages were processed.

        Pages are extracted before the write transaction opens (a slow page must not hold the
        database's write lock against other writers), and a page the extractor fails on for an
        unexpected reason is recorded against that page (``extract_error``, traceback in the log)
        instead of rolling its batch back, which would leave it "archived" and fail every run.
        """
        pending = self.store.awaiting_extraction(self.site.name, limit=limit or self.settings.batch_size)
        version = extractor_version()
        attachments: list[UrlSeen] = []
        done: list[tuple[str, NoticeRecord | None, str, str]] = []  # url, record, failure reason, message
        for url, location in pending:
            try:
                fetched = self.archive.read(location)
                done.append((url, extract_notice(fetched, self.settings, nlp=self._entity_nlp()), "", ""))
            except PipelineError as exc:
                done.append((url, None, "decode" if isinstance(exc, DecodeError) else "extract", exc.message))
            except Exception as exc:  # a bug on one page: record it and go on
                log.exception("extracting %s failed unexpectedly", url)
                done.append((url, None, "extract_error", f"{type(exc).__name__}: {exc}"))
        with self.store.transaction():
            for url, record, reason, message in done:
                if record is None:
                    self.store.mark_failed(url, reason, message, recheck_days=self.site.recheck_days)
                    self.summary.add_failure(reason)
                    continue
                stored = self.store.put_record(record, site=self.site.name, extractor_version=version)
                if stored == "new":
                    self.summary.new_records += 1
                elif stored == "version":
                    self.summary.new_versions += 1
                self.store.mark_extracted(url, record.id)
                if self.site.fetch_attachments:
                    for att in record.attachments:
                        item = self._seen(att.url, "attachment", list_title=att.name, referrer=record.url)
                        if item is not None:
                            attachments.append(item)
                self._emit("extracted")
            if attachments:
                self.store.add_urls(self.site.name, attachments)
        return len(pending)

    # --- 5. finish -----------------------------------------------------------------------
    def finish(self) -> CrawlSummary:
        self.summary.finished_at = dt.datetime.now(dt.UTC)
        self.store.finish_run(self.run_id, self.summary.model_dump_json())
        return self.summary

    def close(self) -> None:
        self.fetcher.close()
        self.archive.close()
        self.store.close()

    def __enter__(self) -> Crawler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def steps(self) -> Iterator[tuple[StepName, Callable[[], object]]]:
        """The run as a sequence of (step name, step) to call in order.

        A generator, so each step is planned after the previous one ran (the fetch batches
        exist only once discovery is done). ``run()`` calls the steps directly; the Prefect
        flow calls each one as a task named after it.
        """
        yield "recover", self._timed("recover", self.recover)
        yield from self._extract_steps()
        yield "discover", self._timed("discover", self.discover)
        kinds: tuple[UrlKind, ...] = ("notice", "attachment")  # attachments found in this run's records too
        for kind in kinds:
            reqs = self.due(kind)
            size = self.settings.batch_size
            for i in range(0, len(reqs), size):
                yield "fetch-batch", self._timed("fetch-batch", partial(self.fetch_batch, reqs[i : i + size]))
                yield from self._extract_steps()

    def _extract_steps(self) -> Iterator[tuple[StepName, Callable[[], object]]]:
        while self.awaiting_extraction():
            yield "extract-batch", self._timed("extract-batch", self.extract_batch)

    def _timed(self, name: StepName, step: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            started = time.perf_counter()
            try:
                return step()
            finally:
                spent = self.summary.step_seconds.get(name, 0.0) + time.perf_counter() - started
                self.summary.step_seconds[name] = round(spent, 3)

        return run

    def run(self) -> CrawlSummary:
        """The whole crawl without Prefect: the same steps the flow runs as tasks."""
        for _name, step in self.steps():
            step()
        return self.finish()
