"""bench/gensite.py: a deterministic synthetic site whose pages the pipeline reads as promised."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from bench.gensite import SiteManifest, generate_site
from pipeline.record import extract_notice
from pipeline.settings import Settings
from schemas.stages import FetchResult

PAGES = 60


def _generate(out: Path) -> SiteManifest:
    return generate_site(out, PAGES, seed=7, gbk_share=0.1, spam_share=0.05, per_list=7, columns=3)


def _hashes(root: Path) -> dict[str, str]:
    return {
        "/" + p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SiteManifest]:
    out = tmp_path_factory.mktemp("site")
    return out, _generate(out)


def test_same_arguments_give_a_byte_identical_tree(site: tuple[Path, SiteManifest], tmp_path: Path) -> None:
    out, _ = site
    _generate(tmp_path)
    assert _hashes(tmp_path) == _hashes(out)


def test_manifest_matches_the_files(site: tuple[Path, SiteManifest]) -> None:
    out, m = site
    files = _hashes(out)
    fixed = {"/robots.txt", "/sitemap.xml", "/index.html", "/search/search.html", "/MANIFEST.json"}
    expected = set(m.notices) | set(m.attachments) | set(m.list_pages) | set(m.sitemaps) | fixed
    assert set(files) == expected
    assert len(m.notices) == PAGES and m.missing and not set(m.missing) & set(files)
    assert SiteManifest.load(out / "MANIFEST.json") == m
    assert len({files[p] for p in m.notices}) == PAGES  # no two notice pages share bytes
    assert len({(out / p.lstrip("/")).stat().st_size for p in m.notices}) > PAGES // 2
    assert all(
        (out / p.lstrip("/")).read_bytes().startswith(b"%PDF-1.4")
        for p in m.attachments
        if p.endswith(".pdf")
    )
    assert sum(n.encoding == "gb18030" for n in m.notices.values()) == 6
    assert sum(n.spam for n in m.notices.values()) == 3

    robots = (out / "robots.txt").read_text(encoding="utf-8")
    assert "Disallow: /search/" in robots and f"Sitemap: {m.base_url}/sitemap.xml" in robots
    index = (out / "sitemap.xml").read_text(encoding="utf-8")
    assert "<sitemapindex" in index and index.count("<loc>") == len(m.sitemaps)
    locs = [
        loc for s in m.sitemaps for loc in re.findall(r"<loc>(.*?)</loc>", (out / s[1:]).read_text("utf-8"))
    ]
    assert sorted(locs) == sorted(m.base_url + p for p in m.notices)


def test_notice_pages_extract_to_the_manifest(site: tuple[Path, SiteManifest]) -> None:
    out, m = site
    settings = Settings()
    kinds: Counter[str] = Counter()
    for path, entry in m.notices.items():
        raw = (out / path.lstrip("/")).read_bytes()
        record = extract_notice(FetchResult.from_file_bytes(raw, url=m.base_url + path), settings)
        assert (record.title, str(record.published_date)) == (entry.title, entry.published_date), path
        assert (record.integrity.status == "suspect") == entry.spam, path
        if entry.spam:
            assert record.integrity.findings, path
            kinds.update(f.kind for f in record.integrity.findings)
        if entry.encoding == "gb18030":
            assert b'<meta charset="gbk">' in raw and record.source.encoding == "gb18030", path
    assert kinds["injected_keyword"] and kinds["hidden_links"]
    assert len({n.template for n in m.notices.values()}) >= 20  # every fixture template is used


def test_list_pages_link_every_notice_exactly_once(site: tuple[Path, SiteManifest]) -> None:
    out, m = site
    linked: Counter[str] = Counter()
    reached = set(m.start_urls)
    for lp in m.list_pages:
        html = (out / lp.lstrip("/")).read_text(encoding="utf-8")
        ul = html.split('<ul class="list">', 1)[1].split("</ul>", 1)[0]
        linked.update(urlsplit(urljoin(m.base_url + lp, h)).path for h in re.findall(r'href="([^"]+)"', ul))
        assert re.search(r'createPageHTML\(\d+, \d+, "index", "html"\)', html)
        noscript = html.split("<noscript>", 1)[1].split("</noscript>", 1)[0]
        reached |= {urljoin(lp, h) for h in re.findall(r'href="([^"]+)"', noscript)}
    listed_files = set(linked) - set(m.notices) - set(m.missing)
    assert listed_files and listed_files <= set(m.attachments)
    assert all(p.endswith(".pdf") for p in listed_files)
    assert all(linked[p] == 1 for p in m.notices) and all(linked[p] == 1 for p in m.missing)
    assert len(linked) == sum(linked.values())
    assert reached == set(m.list_pages)  # the <noscript> pager reaches every list page


def test_the_site_as_warc_files_reprocesses_to_the_manifest(
    site: tuple[Path, SiteManifest], tmp_path: Path
) -> None:
    import subprocess
    import sys

    from bench.gensite import write_warc
    from pipeline.reprocess import reprocess
    from pipeline.store import SqliteStore

    out, m = site
    warc = tmp_path / "warc"
    assert write_warc(out, warc) == len(m.notices)
    files = sorted(str(p) for p in warc.glob("*.warc.gz"))
    check = subprocess.run(
        [str(Path(sys.executable).with_name("warcio")), "check", *files], capture_output=True
    )
    assert files and check.returncode == 0, check.stdout + check.stderr
    with SqliteStore(tmp_path / "db.sqlite") as store:
        summary = reprocess(warc, store, Settings(), workers=0)
        records = {r.url: r for r in store.records()}
    assert (summary.pages, summary.new_records, summary.failed) == (len(m.notices), len(m.notices), {})
    for path, entry in m.notices.items():
        record = records[m.base_url + path]
        assert (record.title, str(record.published_date)) == (entry.title, entry.published_date), path
        assert (record.integrity.status == "suspect") == entry.spam, path
        assert record.source.encoding == ("gb18030" if entry.encoding == "gb18030" else "utf-8"), path
