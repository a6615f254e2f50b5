"""Models of a crawl: what was asked for, what came back, where it was archived, how a run went.

These travel between the crawl stages (discover → fetch → archive → extract → store) and
between Prefect tasks, so they hold ids, URLs and archive locations, never page bytes.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

UrlKind = Literal["notice", "list", "attachment", "sitemap", "robots"]
"""What a URL is to the crawl: a notice page, a list (栏目) page, a linked document, ..."""

FailureReason = Literal[
    "not_found",  # 404
    "gone",  # 410
    "http_error",  # another 4xx (401, 403, ...)
    "server_error",  # 5xx after the retries
    "rate_limited",  # 429/503 after the retries, or a Retry-After beyond max_retry_after
    "timeout",
    "connection",
    "truncated",  # the connection closed before the announced body length
    "too_large",  # body beyond the download cap (a gzip bomb stops here too)
    "bad_encoding",  # a Content-Encoding that does not decompress
    "content_type",  # not a type this kind of URL may have (a PDF where a page was expected)
    "robots",  # robots.txt disallows the URL
    "robots_unavailable",  # robots.txt answered 5xx or not at all: nothing fetched from that site for now
    "host_unavailable",  # the host failed too many times in a row this run: the rest is left for next run
    "blocked_address",  # resolves to a private / loopback / link-local / metadata address
    "off_site",  # redirected to a host outside the site's allowed hosts
    "redirect_loop",
    "too_many_redirects",
    "bad_url",
    "decode",  # fetched, but the bytes are not a decodable HTML page
    "extract",  # fetched, but no record could be made
    "extract_error",  # fetched, but the extractor failed on it unexpectedly (a bug; traceback in the log)
    "unexpected",  # a bug: an error the pipeline did not anticipate (recorded with its message)
]

PERMANENT_REASONS: frozenset[str] = frozenset(
    {
        "not_found",
        "gone",
        "http_error",
        "too_large",
        "bad_encoding",
        "content_type",
        "robots",
        "blocked_address",
        "off_site",
        "redirect_loop",
        "too_many_redirects",
        "bad_url",
        "decode",
        "extract",
        "extract_error",
    }
)
"""Reasons that retrying soon will not fix; they are re-checked on the slow cycle only."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WarcLocation(_Model):
    """Where a record sits in the archive: WARC file name (relative to the archive folder) + offset."""

    file: str
    offset: int = Field(ge=0)
    length: int = Field(ge=0, description="Bytes of the (compressed) WARC record")

    def __str__(self) -> str:
        return f"{self.file}#{self.offset}"


class FetchRequest(_Model):
    """One URL to fetch, with what the store remembers of it (for a conditional GET)."""

    url: str
    kind: UrlKind = "notice"
    etag: str | None = None
    last_modified: str | None = None
    previous_sha256: str | None = None


class FetchOutcome(_Model):
    """What happened to one URL: fetched, unchanged since last time, or failed with a reason."""

    url: str
    kind: UrlKind
    outcome: Literal["fetched", "unchanged", "failed"]
    final_url: str | None = None
    http_status: int | None = None
    reason: FailureReason | None = None
    message: str | None = None
    attempts: int = 0
    fetched_at: dt.datetime
    elapsed_ms: float = 0.0
    content_type: str | None = None
    sha256: str | None = Field(None, description="sha256 of the body as archived")
    etag: str | None = None
    last_modified: str | None = None
    warc: WarcLocation | None = Field(None, description="The archived final response, if any")

    @property
    def permanent(self) -> bool:
        return self.reason in PERMANENT_REASONS


class CrawlSummary(_Model):
    """How one crawl run went: printed on the terminal and published as a Prefect artifact."""

    site: str
    run_id: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    list_pages: int = Field(0, description="List (栏目) pages visited")
    found: int = Field(0, description="Notice URLs seen on list pages and sitemaps this run")
    new_urls: int = Field(0, description="Of those, URLs the store did not know")
    fetched: int = Field(0, description="Notice pages fetched (2xx with new bytes)")
    unchanged: int = Field(0, description="Notice pages answered 304 or with identical bytes")
    failed: dict[str, int] = Field(default_factory=dict, description="Failures by reason")
    budget: dict[str, int] = Field(
        default_factory=dict, description="URLs a crawl budget left out, by budget (links per list page, ...)"
    )
    new_records: int = 0
    new_versions: int = Field(0, description="Known notices whose record changed")
    attachments: int = Field(0, description="Documents archived")
    recovered: int = Field(0, description="Responses found in the archive that a killed run had not stored")
    step_seconds: dict[str, float] = Field(
        default_factory=dict, description="Wall time spent inside each kind of step (recover, discover, ...)"
    )
    db: str = ""
    archive: str = ""

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    def add_failure(self, reason: str) -> None:
        self.failed[reason] = self.failed.get(reason, 0) + 1

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs for a terminal table or a Markdown artifact."""
        rows = [
            ("site", self.site),
            ("list pages visited", str(self.list_pages)),
            ("notices found", str(self.found)),
            ("new URLs", str(self.new_urls)),
            ("fetched", str(self.fetched)),
            ("unchanged", str(self.unchanged)),
            ("failed", str(self.failed_total)),
        ]
        rows += [(f"  {reason}", str(n)) for reason, n in sorted(self.failed.items())]
        if self.budget:
            rows.append(("left out by budgets", str(sum(self.budget.values()))))
            rows += [(f"  {name}", str(n)) for name, n in sorted(self.budget.items())]
        rows += [
            ("new records", str(self.new_records)),
            ("new versions", str(self.new_versions)),
            ("attachments archived", str(self.attachments)),
        ]
        if self.recovered:
            rows.append(("recovered from archive", str(self.recovered)))
        return rows

    def markdown(self) -> str:
        lines = [f"# Crawl of {self.site}", "", "| | |", "|---|---:|"]
        lines += [f"| {label.strip()} | {value} |" for label, value in self.rows()]
        lines += ["", f"Records: `{self.db}`  ", f"Archive: `{self.archive}`"]
        return "\n".join(lines) + "\n"
