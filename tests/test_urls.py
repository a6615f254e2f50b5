"""schemas/urls.py: one reading of a web URL for every check and for the request (issue 14)."""

from __future__ import annotations

import pytest

from schemas.site import SiteConfig
from schemas.urls import web_url


@pytest.mark.parametrize(
    ("url", "read"),
    [
        # a backslash is a slash (WHATWG), so the host is the one requests connects to
        ("http://127.0.0.1\\@gov.test/x", "http://127.0.0.1/@gov.test/x"),
        ("http://169.254.169.254\\@pub.test/", "http://169.254.169.254/@pub.test/"),
        ("http://127.0.0.1\\\\pub.test/x", "http://127.0.0.1//pub.test/x"),
        ("http://pub.test\\a\\b.html", "http://pub.test/a/b.html"),
        # tabs and newlines vanish, as in a browser
        ("http://pub.te\tst/a", "http://pub.test/a"),
        ("http://pub.test/a\r\nb", "http://pub.test/ab"),
        # case of scheme and host, port kept
        ("HTTP://Pub.Test:8080/A?b=C#d", "http://pub.test:8080/A?b=C#d"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        # refused: user info, escapes, spaces, controls in the authority; not http(s); bad ports
        ("http://127.0.0.1%5C@gov.test/x", None),
        ("http://127.0.0.1%5c@gov.test/x", None),
        ("http://user:pw@pub.test/a", None),
        ("http://user@pub.test/a", None),
        ("http://pub.test%2F@evil.test/", None),
        ("http://a b.test/", None),
        ("http://pub.test\x00/", None),
        ("javascript:alert(1)", None),
        ("//pub.test/x", None),
        ("http://pub.test:99999/", None),
        ("http:///x", None),
    ],
)
def test_web_url(url: str, read: str | None) -> None:
    assert web_url(url) == read


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1\\@pub.test/x",
        "http://127.0.0.1%5C@pub.test/x",
        "http://127.0.0.1\\\\pub.test/x",
        "http://x@127.0.0.1/",
        "http://127.0.0.1@pub.test/",
        "http://127.0.0.1\t\\@pub.test/",
        "http://127.0.0.1\n\\@pub.test/",
    ],
)
def test_the_site_check_reads_the_host_requests_would_connect_to(url: str) -> None:
    site = SiteConfig(name="pub", start_urls=["http://pub.test/"])
    assert not site.host_allowed(url)
    assert site.host_allowed("http://pub.test/ok.html")


def test_a_start_url_with_user_info_is_refused() -> None:
    with pytest.raises(ValueError, match="user info"):
        SiteConfig(name="pub", start_urls=["http://admin@pub.test/"])
