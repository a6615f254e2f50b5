"""Site configurations: sites/*.yaml → SiteConfig, with clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import DiscoveryError
from pipeline.sites import load_site, load_sites, site_for_urls
from schemas.site import SiteConfig

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_site_files_are_valid() -> None:
    sites = load_sites(ROOT / "sites") + load_sites(ROOT / "sites" / "examples")
    assert {s.name for s in sites} >= {"mini-site", "example-city-bmdt"}
    for site in sites:
        assert site.allowed_hosts and all(site.host_allowed(u) for u in site.start_urls)


def test_defaults_and_host_rules(tmp_path: Path) -> None:
    path = tmp_path / "bureau.yaml"
    path.write_text(
        "start_urls: [https://www.a.gov.cn/zwgk/index.html]\nallowed_hosts: [www.a.gov.cn, '*.files.a.gov.cn']\n",
        encoding="utf-8",
    )
    site = load_site(path)
    assert site.name == "bureau" and site.sitemaps == "auto" and not site.allow_private_addresses
    assert site.host_allowed("https://www.a.gov.cn/x.html")
    assert site.host_allowed("http://cdn.files.a.gov.cn/a.pdf")
    assert not site.host_allowed("https://evil.example.com/x.html")
    assert not site.host_allowed("ftp://www.a.gov.cn/x")
    assert not site.host_allowed("https://www.a.gov.cn.evil.com/")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("start_urls: [", "not valid YAML"),
        ("- a\n- b\n", "must be a mapping"),
        ("name: x\n", "start_urls"),
        ("start_urls: [www.a.gov.cn/index.html]", "absolute http"),
        ("start_urls: [https://a.gov.cn/]\nhints: {notice_url_pattern: '(('}", "regular expression"),
        ("start_urls: [https://a.gov.cn/]\npolitness: {min_delay: 1}", "politness"),
        ("name: 'bad name!'\nstart_urls: [https://a.gov.cn/]", "name"),
    ],
)
def test_bad_files_give_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DiscoveryError, match=message):
        load_site(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DiscoveryError, match="cannot read"):
        load_site(tmp_path / "nope.yaml")


def test_bare_urls_allow_only_their_hosts() -> None:
    site = site_for_urls(["http://127.0.0.1:8000/zwgk/index.html", "http://www.b.gov.cn/list.html"])
    assert site.allowed_hosts == ["127.0.0.1", "www.b.gov.cn"]
    assert site.name == "127.0.0.1" and not site.allow_private_addresses
    with pytest.raises(DiscoveryError):
        site_for_urls(["not a url"])
    assert isinstance(site, SiteConfig)


def test_malformed_and_idn_urls() -> None:
    with pytest.raises(DiscoveryError, match="not a valid URL"):
        site_for_urls(["http://[::1/x.html"])
    with pytest.raises(DiscoveryError):
        site_for_urls(["http://a.gov.cn:99999/x.html"])
    site = site_for_urls(["http://政府.cn/index.html"])
    assert site.host_allowed("http://xn--mxtq1m.cn/a.html") and site.host_allowed("http://政府.cn./b.html")
