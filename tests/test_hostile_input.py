"""Hostile input found by fuzzing: each gives a record or a PipelineError, never another exception."""

from __future__ import annotations

import json

import pytest

from pipeline.errors import PipelineError
from pipeline.record import extract_notice
from schemas.stages import FetchResult

PROSE = "为进一步做好全市防汛工作，切实保障人民群众生命财产安全，经研究，决定开展汛前检查。"


def run(body: bytes, *, url: str = "http://www.example.gov.cn/a/t20240101_1.html", ctype: str = "text/html"):
    return extract_notice(FetchResult.from_file_bytes(body, url=url, content_type=ctype))


@pytest.mark.parametrize("ctrl", ["\x01", "\x0b", "\x1f", "\ufffe"])
def test_control_character_after_a_removed_script(ctrl: str) -> None:
    rec = run(f"<p>{PROSE}<script>x</script>{ctrl}b</p>".encode())
    assert PROSE in rec.body_text
    rec.model_dump_json()


@pytest.mark.parametrize("href", ["http://[::1", "//[", "https://[]/a.pdf", "http://a:99999/a.pdf"])
def test_unparseable_links_are_skipped(href: str) -> None:
    page = f"<div><p>{PROSE}</p><a href='{href}'>附件.pdf</a><script src='{href}'></script></div>"
    rec = run(page.encode())
    assert rec.attachments == [] and PROSE in rec.body_text


def test_unparseable_base_href_falls_back_to_the_page_url() -> None:
    rec = run(
        f"<head><base href='http://[::1'></head><div><p>{PROSE}</p><a href='a.pdf'>附件.pdf</a></div>".encode()
    )
    assert [a.url for a in rec.attachments] == ["http://www.example.gov.cn/a/a.pdf"]


@pytest.mark.parametrize("url", ["http://[::1", "http://a:99999/"])
def test_invalid_page_url_is_a_pipeline_error(url: str) -> None:
    with pytest.raises(PipelineError, match="invalid page URL"):
        run(f"<p>{PROSE}</p>".encode(), url=url)


@pytest.mark.parametrize("label", ["undefined", "rot13", "base64"])
def test_non_text_codecs_named_as_charsets_are_ignored(label: str) -> None:
    rec = run(f'<meta charset="{label}"><p>{PROSE}</p>'.encode(), ctype=f"text/html; charset={label}")
    assert rec.body_text == PROSE


def test_tag_with_a_hundred_thousand_attributes_is_parsed_quickly() -> None:
    # libxml2 is quadratic in distinct attribute names; such a tag is cut to its name.
    page = "<p " + " ".join(f"a{i}" for i in range(100_000)) + f">{PROSE}</p>"
    assert run(page.encode()).body_text == PROSE


def test_surrogate_and_nul_escapes_in_script_data_do_not_reach_the_record() -> None:
    data = {"title": "关于\\ud800的\\u0000通知", "content": "<p>" + PROSE * 3 + "</p>"}
    raw = json.dumps(data, ensure_ascii=False).replace("\\\\", "\\")
    rec = run(
        f"<html><head><title>t</title></head><body><script>var pageData={raw};</script></body></html>".encode()
    )
    assert rec.title == "关于的通知"
    json.loads(rec.model_dump_json())


def test_attachments_are_only_http() -> None:
    rec = run(f"<div><p>{PROSE}</p><a href='ftp://a/a.pdf'>附件.pdf</a></div>".encode())
    assert rec.attachments == []
