"""The citation graph between stored notices, and the review/release of suspect records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.citations import doc_no_key, title_key
from pipeline.export import export
from pipeline.record import notice_id
from pipeline.store import SqliteStore
from schemas.record import CitedDocument, Integrity, IntegrityFinding, NoticeRecord
from tests.conftest import CORPUS

BASE = CORPUS[0].record()


def notice(n: int, *, title: str, doc_no: str | None = None, cites: list[CitedDocument] | None = None,
           suspect: bool = False) -> NoticeRecord:  # fmt: skip
    url = f"http://www.a.gov.cn/zwgk/t{n}.html"
    integrity = (
        Integrity(status="suspect", findings=[IntegrityFinding(kind="injected_keyword", evidence=["澳门新葡京"], count=2)])
        if suspect
        else Integrity()
    )  # fmt: skip
    return BASE.model_copy(
        update={
            "id": notice_id(url),
            "url": url,
            "title": title,
            "doc_no": doc_no,
            "cited_documents": cites or [],
            "integrity": integrity,
        }
    )


@pytest.mark.parametrize(
    "variant",
    [
        "固政公开办发〔2024〕3号",
        "固政公开办发[2024]3号",
        "固政公开办发（2024）第3号",
        "固政公开办发 【2024】 3号",
    ],
)
def test_doc_no_variants_share_one_key(variant: str) -> None:
    assert doc_no_key(variant) == "固政公开办发〔2024〕3号"
    assert title_key("《关于 开展检查的通知》") == "关于开展检查的通知"


def test_citations_resolve_by_doc_no_and_by_title_suffix_in_both_orders(tmp_path: Path) -> None:
    cited_by_no = notice(
        1, title="固原市人民政府办公室关于开展政府开放日活动的通知", doc_no="固政公开办发〔2024〕3号"
    )
    cited_by_title = notice(2, title="固原市农业农村局2024年政府开放日活动实施方案")
    citing = notice(
        3,
        title="固原市农业农村局2024年政府开放日活动总结",
        cites=[
            CitedDocument(title="关于开展政府开放日活动的通知", doc_no="固政公开办发[2024]第3号"),
            CitedDocument(title="2024年政府开放日活动实施方案"),
            CitedDocument(title="中华人民共和国政府信息公开条例"),
        ],
    )  # fmt: skip
    with SqliteStore(tmp_path / "a.sqlite") as store:  # cited notices first
        for r in (cited_by_no, cited_by_title, citing):
            store.put_record(r, site="x", extractor_version="t")
        cites, _ = store.citations(citing.id)
        assert [c["to_id"] for c in cites] == [cited_by_no.id, cited_by_title.id, None]
        _, cited_by = store.citations(cited_by_no.id)
        assert [c["from_id"] for c in cited_by] == [citing.id]
    with SqliteStore(tmp_path / "b.sqlite") as store:  # the citing notice first: resolved when they arrive
        for r in (citing, cited_by_no, cited_by_title):
            store.put_record(r, site="x", extractor_version="t")
        cites, _ = store.citations(citing.id)
        assert [c["to_id"] for c in cites] == [cited_by_no.id, cited_by_title.id, None]


def test_a_suspect_record_is_held_until_released_and_a_new_version_needs_a_new_release(
    tmp_path: Path,
) -> None:
    clean = notice(1, title="关于开展安全生产检查的通知")
    bad = notice(2, title="关于做好政务公开工作的通知", suspect=True)
    with SqliteStore(tmp_path / "db.sqlite") as store:
        store.put_record(clean, site="x", extractor_version="t")
        store.put_record(bad, site="x", extractor_version="t")
        assert [r["id"] for r in store.suspects()] == [bad.id]
        first = export(store, tmp_path / "out")
        assert (first.notices, first.held_suspect) == (1, 1)
        assert store.release(bad.id, "checked by the archive team")
        assert store.suspects() == [] and len(store.suspects(include_released=True)) == 1
        second = export(store, tmp_path / "out")  # incremental: the release is a change
        assert second.notices == 1 and second.held_suspect == 0
        lines = (tmp_path / "out" / "latest" / "notices.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(line)["id"] for line in lines] == [bad.id]
        changed = bad.model_copy(update={"body_text": bad.body_text + "又一段。"})
        assert store.put_record(changed, site="x", extractor_version="t") == "version"
        assert [r["id"] for r in store.suspects()] == [bad.id]  # the release was for the old record
        assert not store.release(clean.id)  # nothing to release on a clean notice


def test_cli_review_release_and_show_citations(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    bad = notice(2, title="关于做好政务公开工作的通知", suspect=True,
                 cites=[CitedDocument(title="中华人民共和国政府信息公开条例")])  # fmt: skip
    with SqliteStore(db) as store:
        store.put_record(bad, site="x", extractor_version="t")

    def notices(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pipeline.cli", *args, "--db", str(db)],
                              capture_output=True, text=True, timeout=60)  # fmt: skip

    listed = notices("review", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)[0]["id"] == bad.id
    assert "澳门新葡京" in listed.stdout
    done = notices("release", bad.id[:10], "--note", "ok")
    assert done.returncode == 0 and "released" in done.stdout
    assert json.loads(notices("review", "--json").stdout) == []
    shown = notices("show", bad.id)
    assert "cites (1)" in shown.stdout and "cited by (0)" in shown.stdout


def test_no_false_resolutions(tmp_path: Path) -> None:
    county = notice(1, title="青山县人民政府关于做好2024年防汛工作的通知", doc_no="青政发〔2024〕5号")
    bureau = notice(2, title="白塔区教育局关于开展安全生产大检查的通知", doc_no="白教发〔2024〕1号")
    citing = notice(
        3,
        title="某镇关于转发防汛文件的通知",
        cites=[
            CitedDocument(title="关于做好2024年防汛工作的通知", doc_no="省政办发〔2024〕9号"),  # 文号 differs
            CitedDocument(title="关于开展安全生产大检查的通知", doc_no="省政办发〔2024〕8号"),
        ],
    )
    with SqliteStore(tmp_path / "db.sqlite") as store:
        for r in (county, bureau, citing):
            store.put_record(r, site="x", extractor_version="t")
        cites, _ = store.citations(citing.id)
    assert [c["to_id"] for c in cites] == [None, None]  # a cited 文号 that matches nothing decides


def test_links_follow_new_versions_and_a_doc_no_match_replaces_a_title_match(tmp_path: Path) -> None:
    by_title = notice(1, title="某镇关于做好秋季防火工作的通知")
    citing = notice(
        2, title="某村关于转发防火文件的通知", cites=[CitedDocument(title="关于做好秋季防火工作的通知")]
    )
    with SqliteStore(tmp_path / "db.sqlite") as store:
        store.put_record(by_title, site="x", extractor_version="t")
        store.put_record(citing, site="x", extractor_version="t")
        assert store.citations(citing.id)[0][0]["to_id"] == by_title.id
        # the cited notice is re-stored with another title: the link is dropped
        store.put_record(by_title.model_copy(update={"title": "某镇关于开展春季植树活动的通知"}),
                         site="x", extractor_version="t")  # fmt: skip
        assert store.citations(citing.id)[0][0]["to_id"] is None
        # a citation with a 文号: a notice carrying that 文号 wins
        citing2 = notice(3, title="某村转发文件", cites=[CitedDocument(title="关于做好秋季防火工作的通知",
                                                                      doc_no="省政发〔2024〕2号")])  # fmt: skip
        store.put_record(citing2, site="x", extractor_version="t")
        assert store.citations(citing2.id)[0][0]["to_id"] is None
        official = notice(4, title="省人民政府关于做好秋季防火工作的通知", doc_no="省政发[2024]2号")
        store.put_record(official, site="x", extractor_version="t")
        assert store.citations(citing2.id)[0][0]["to_id"] == official.id


def test_a_title_suffix_shared_by_two_stored_titles_resolves_to_neither(tmp_path: Path) -> None:
    a = notice(1, title="青山县人民政府关于做好冬季森林防火工作的通知")
    b = notice(2, title="白塔区人民政府关于做好冬季森林防火工作的通知")
    c = notice(3, title="白塔区人民政府关于做好冬季森林防火工作的通知（修订）")  # does not end with it
    citing = notice(4, title="某镇转发", cites=[CitedDocument(title="关于做好冬季森林防火工作的通知")])
    with SqliteStore(tmp_path / "db.sqlite") as store:
        for r in (a, citing):
            store.put_record(r, site="x", extractor_version="t")
        assert [x["to_id"] for x in store.citations(citing.id)[0]] == [a.id]
        store.put_record(c, site="x", extractor_version="t")
        assert [x["to_id"] for x in store.citations(citing.id)[0]] == [a.id]
        store.put_record(b, site="x", extractor_version="t")  # now two candidates: ambiguous
        assert [x["to_id"] for x in store.citations(citing.id)[0]] == [None]


def test_a_database_from_before_migration_7_resolves_title_suffixes_after_the_upgrade(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "db.sqlite"
    cited = notice(1, title="固原市农业农村局2024年政府开放日活动实施方案")
    with SqliteStore(db) as store:
        store.put_record(cited, site="x", extractor_version="t")
    conn = sqlite3.connect(db)  # back to schema 6: no reversed titles, no citations_doc index
    conn.executescript(
        "DROP INDEX notices_title_rev; DROP INDEX citations_doc; DROP INDEX citations_title;"
        " CREATE INDEX citations_open_doc ON citations(doc_no_key) WHERE to_id IS NULL;"
        " CREATE INDEX citations_open_title ON citations(title_key) WHERE to_id IS NULL; ALTER TABLE notices DROP COLUMN title_rev;"
        " DELETE FROM schema_migrations WHERE version = 7;"
    )
    conn.close()
    citing = notice(2, title="活动总结", cites=[CitedDocument(title="2024年政府开放日活动实施方案")])
    with SqliteStore(db) as store:
        assert store.schema_version == 7
        store.put_record(citing, site="x", extractor_version="t")
        assert [x["to_id"] for x in store.citations(citing.id)[0]] == [cited.id]
