"""The one settings object. Built once at an entry point (CLI, flow) and passed down.

Every field can be set from the environment with the ``NOTICES_`` prefix, e.g.
``NOTICES_MAX_HTML_BYTES=1000000``. Nothing here is read at import time.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration for every stage of the pipeline."""

    model_config = SettingsConfigDict(env_prefix="NOTICES_", extra="ignore")

    max_html_bytes: int = Field(
        8 * 1024 * 1024,
        description="Pages larger than this are cut to this many bytes before parsing (with a warning).",
        gt=0,
    )
    max_text_chars_scan: int = Field(
        400_000,
        description="Script text scanned for inline JSON article content is capped at this many characters.",
        gt=0,
    )
    min_body_chars: int = Field(
        20,
        description="Main text shorter than this is treated as 'no main text found' (a warning on the record).",
        ge=0,
    )
    detect_min_bytes: int = Field(
        64,
        description="Below this many bytes, charset detection is not attempted (too little evidence).",
        ge=0,
    )

    entities: bool = Field(True, description="Find entities (spaCy rules) in crawled and extracted pages")

    # --- crawling (fetch, discover, archive, flows) ---------------------------------------
    contact_url: str = Field(
        "https://github.com/gov-notices/gov-notices#crawler",
        description="Where site operators learn about the crawler; part of the User-Agent",
    )
    user_agent_name: str = Field("gov-notices", description="Product token of the User-Agent (robots.txt)")
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to establish a connection")
    read_timeout: float = Field(30.0, gt=0, description="Seconds to wait for any byte of a response")
    fetch_deadline: float = Field(
        120.0, gt=0, description="Seconds one response may take in total (a server dripping bytes is cut)"
    )
    max_download_bytes: int = Field(
        16 * 1024 * 1024, gt=0, description="Cap on a page's body after decompression (bombs stop here)"
    )
    max_attachment_bytes: int = Field(64 * 1024 * 1024, gt=0, description="Cap on an attachment's body")
    max_redirects: int = Field(10, ge=0, le=30, description="Redirect hops followed per request")
    robots_ttl_hours: float = Field(24.0, gt=0, le=24, description="robots.txt is cached at most this long")
    robots_retry_minutes: float = Field(
        10.0, gt=0, description="A robots.txt that answered 5xx or not at all is asked again after this"
    )
    min_delay: float = Field(1.0, ge=0, description="Seconds between requests to one host (default)")
    max_concurrent_per_host: int = Field(2, ge=1, le=16, description="Requests in flight per host (default)")
    latency_factor: float = Field(
        1.0, ge=0, description="The delay between requests to a host is at least this × its recent latency"
    )
    max_delay: float = Field(60.0, gt=0, description="Upper bound of the adaptive and Crawl-delay delays")
    fetch_workers: int = Field(4, ge=1, le=64, description="Threads fetching in parallel (all hosts)")
    max_links_per_list_page: int = Field(
        1000,
        ge=1,
        description="Crawl budget: links taken from one list page (a trap page lists endless ones)",
    )
    max_query_variants_per_path: int = Field(
        5000,
        ge=1,
        description="Crawl budget: distinct query strings of one URL path (show.jsp?id=N) taken per run",
    )
    max_new_urls_per_run: int = Field(
        100_000,
        ge=1,
        description="Crawl budget: new notice URLs one run adds to the frontier; discovery stops there",
    )
    extract_budget_seconds: float = Field(
        3.0,
        gt=0,
        description="Per-page extraction budget: beyond it the record gets a warning and no entities",
    )
    api_max_connections: int = Field(
        256,
        ge=1,
        description="`notices serve`: connections served at once; beyond, 503 (below the file limit)",
    )
    api_header_timeout: float = Field(
        10.0,
        gt=0,
        description="`notices serve`: a client must send a whole request head within this many seconds",
    )
    api_keep_alive_timeout: float = Field(
        5.0, gt=0, description="`notices serve`: idle keep-alive connections close after this"
    )
    fetch_retries: int = Field(3, ge=0, le=10, description="Retries of a transient failure within a run")
    backoff_base: float = Field(1.0, ge=0, description="First retry waits about this long, then doubles")
    max_retry_after: float = Field(
        300.0, ge=0, description="A Retry-After longer than this ends the attempt (retried next run)"
    )
    host_failure_limit: int = Field(
        10, ge=1, description="After this many transient failures in a row a host is skipped for the run"
    )
    batch_size: int = Field(200, ge=1, description="Pages per Prefect task (fetch and extract batches)")
    warc_max_bytes: int = Field(1024**3, gt=0, description="A WARC file is closed and a new one started here")
    data_dir: str = Field("data", description="Default home of the crawl database and the WARC archive")
