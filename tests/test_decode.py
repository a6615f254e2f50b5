"""Stage decode: bytes → text, with the encoding evidence recorded."""

from __future__ import annotations

import codecs

import pytest

from pipeline.decode import decode_body, normalize_encoding
from pipeline.errors import DecodeError
from schemas.stages import FetchResult
from tests.conftest import CORPUS_PAGES

TEXT = "<html><head><title>通知</title></head><body><p>为进一步做好浉河区防汛工作，现将有关事项通知如下。</p></body></html>"


def fetch(body: bytes, ctype: str | None = None) -> FetchResult:
    return FetchResult.from_file_bytes(body, url="http://x.gov.cn/a.html", content_type=ctype)


def test_bom_wins_over_everything() -> None:
    page = decode_body(fetch(codecs.BOM_UTF8 + TEXT.encode("utf-8"), "text/html; charset=gbk"))
    assert page.encoding == "utf-8" and page.encoding_source == "bom"
    assert "浉河区" in page.text and not page.text.startswith("\ufeff")


def test_http_charset_used_when_it_fits() -> None:
    page = decode_body(fetch(TEXT.encode("gb18030"), "text/html; charset=GBK"))
    assert page.encoding == "gb18030" and page.encoding_source == "http"
    assert "浉河区" in page.text  # 浉 is outside GB2312: gbk labels must decode as gb18030


def test_lying_http_header_is_ignored_for_meta() -> None:
    # newsline_03: sent as UTF-8, really GB2312 with a <meta charset=gb2312>
    raw = (CORPUS_PAGES / "newsline_03.html").read_bytes()
    page = decode_body(fetch(raw, "text/html; charset=UTF-8"))
    assert page.encoding == "gb18030" and page.encoding_source == "meta"
    assert "安全生产月" in page.text and page.replacement_chars == 0
    assert any("does not fit" in w for w in page.warnings)


@pytest.mark.parametrize(
    "meta",
    [
        b'<meta http-equiv="Content-Type" content="text/html; charset=gbk">',
        b"<meta charset=gbk>",
        b"<META HTTP-EQUIV=Content-Type CONTENT='text/html;charset=gb2312'>",
        b'<meta charset="gb2312"',  # unterminated tag
        b"<meta content='text/html; charset = GB2312' http-equiv='content-type'>",
    ],
)
def test_malformed_meta_tags_are_tolerated(meta: bytes) -> None:
    body = b"<html><head>" + meta + b"</head><body>" + "正文浉河区防汛".encode("gb18030") + b"</body></html>"
    page = decode_body(fetch(body, "text/html"))
    assert page.encoding == "gb18030" and page.encoding_source == "meta"
    assert "浉河区" in page.text


def test_undeclared_gbk_is_detected() -> None:
    body = (
        "<html><body>" + "各乡镇人民政府，区直各部门：现将有关事项通知如下。" * 20 + "</body></html>"
    ).encode("gbk")
    page = decode_body(fetch(body, "text/html"))
    assert page.encoding_source == "detected"
    assert "各乡镇人民政府" in page.text


def test_valid_utf8_beats_a_gbk_label() -> None:
    page = decode_body(fetch(TEXT.encode("utf-8"), "text/html; charset=gb2312"))
    assert page.encoding == "utf-8"
    assert "防汛工作" in page.text


def test_replacement_characters_are_counted() -> None:
    body = TEXT.encode("utf-8")[:60] + b"\xff\xfe\xfa" + TEXT.encode("utf-8")[60:]
    page = decode_body(fetch(body, "text/html; charset=utf-8"))
    assert page.replacement_chars >= 1
    assert any("U+FFFD" in w for w in page.warnings)


@pytest.mark.parametrize("body", [b"", b"   \n\t  "])
def test_empty_body_is_a_decode_error(body: bytes) -> None:
    with pytest.raises(DecodeError, match="empty"):
        decode_body(fetch(body))


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (b"PK\x03\x04\x14\x00\x06\x00", "ZIP"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG"),
        (bytes(range(256)) * 40, "binary"),
    ],
)
def test_binary_bodies_are_refused_clearly(body: bytes, what: str) -> None:
    with pytest.raises(DecodeError, match=what) as info:
        decode_body(fetch(body, "text/html"))
    assert info.value.stage == "decode"


def test_encoding_labels_normalise() -> None:
    assert normalize_encoding("GB2312") == "gb18030"
    assert normalize_encoding("x-gbk") == "gb18030"
    assert normalize_encoding("UTF8") == "utf-8"
    assert normalize_encoding("no-such-charset") is None
