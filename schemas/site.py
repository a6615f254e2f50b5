"""Site configuration: one YAML file per crawled site under ``sites/``.

Example (``sites/example.yaml``)::

    name: yangben-bmdt
    start_urls:
      - https://www.example.gov.cn/zwgk/bmdt/index.html
    allowed_hosts: [www.example.gov.cn]      # default: the hosts of start_urls
    sitemaps: auto                           # auto = from robots.txt and /sitemap.xml; or a list; or none
    schedule: "0 6 * * *"                    # cron, used by `notices serve-schedules`
    politeness: {min_delay: 2.0, max_concurrent: 2}
    hints:
      notice_url_pattern: '/t\\d{8}_\\d+\\.html$'

Every field except ``name`` and ``start_urls`` has a default; generic link finding works
without hints.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.urls import web_url


def _ascii_host(host: str) -> str:
    """Lower-case, no trailing dot, IDN in punycode (so 政府.cn and xn--mxtq1m.cn are one host)."""
    host = host.lower().rstrip(".")
    prefix = "*." if host.startswith("*.") else ""
    try:
        return prefix + host[len(prefix) :].encode("idna").decode("ascii")
    except UnicodeError:
        return host


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Politeness(_Model):
    """Per-host manners. ``None`` means: take the value from the global settings."""

    min_delay: float | None = Field(
        None, ge=0, description="Seconds between two requests to the same host (Crawl-delay raises it)"
    )
    max_concurrent: int | None = Field(None, ge=1, le=16, description="Requests in flight per host")


class ListHints(_Model):
    """Optional help for discovery on one site. Each is a regex / XPath, never required."""

    notice_url_pattern: str | None = Field(
        None, description="Regex a notice URL matches (searched in the absolute URL)"
    )
    list_url_pattern: str | None = Field(
        None, description="Regex a list (栏目) page URL matches; such links are followed as pagination"
    )
    link_xpath: str | None = Field(
        None, description="XPath selecting the <a> elements of the notice list on a list page"
    )

    @field_validator("notice_url_pattern", "list_url_pattern")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value


class SiteConfig(_Model):
    """What to crawl on one site and how."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="Short id, used in names")
    start_urls: list[str] = Field(min_length=1, description="List pages (栏目) where discovery starts")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names the crawl may fetch from ('*.example.gov.cn' allows sub-domains); "
        "default: the hosts of start_urls",
    )
    sitemaps: Literal["auto", "none"] | list[str] = Field(
        "auto", description="auto: Sitemap: lines of robots.txt, else /sitemap.xml; or explicit URLs"
    )
    allow_private_addresses: bool = Field(
        False, description="Let the crawl reach loopback/private addresses (tests, intranet sites)"
    )
    fetch_attachments: bool = Field(True, description="Archive documents linked from notices and lists")
    max_pages: int | None = Field(None, ge=1, description="Stop after this many fetched notices per run")
    max_list_pages: int = Field(200, ge=1, description="List pages visited per start URL per run")
    recheck_days: float = Field(
        7.0, ge=0, description="Known notices are re-checked (conditional GET) after this many days"
    )
    schedule: str | None = Field(None, description="Cron expression for `notices serve-schedules`")
    timezone: str = Field("Asia/Shanghai", description="Time zone of the cron schedule")
    politeness: Politeness = Field(default_factory=Politeness)
    hints: ListHints = Field(default_factory=ListHints)

    @field_validator("start_urls")
    @classmethod
    def _absolute_http(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if web_url(url) is None:
                raise ValueError(
                    f"start URL must be an absolute http(s) URL without user info or escapes in its host: {url!r}"
                )
        return urls

    @model_validator(mode="after")
    def _default_hosts(self) -> SiteConfig:
        if not self.allowed_hosts:
            hosts: list[str] = []
            for url in self.start_urls:
                host = _ascii_host(urlsplit(url).hostname or "")
                if host not in hosts:
                    hosts.append(host)
            self.allowed_hosts = hosts
        self.allowed_hosts = [_ascii_host(h.strip()) for h in self.allowed_hosts]
        return self

    def host_allowed(self, url: str) -> bool:
        """Is ``url`` an http(s) URL on one of the allowed hosts?"""
        checked = web_url(url)  # the URL as requests will read it, or None when readings differ
        if checked is None:
            return False
        try:
            parts = urlsplit(checked)
            host = _ascii_host(parts.hostname or "")
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not host:
            return False
        for allowed in self.allowed_hosts:
            if allowed.startswith("*."):
                if host == allowed[2:] or host.endswith(allowed[1:]):
                    return True
            elif host == allowed:
                return True
        return False
