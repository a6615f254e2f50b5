"""robots.txt parsing and matching (RFC 9309): body → RobotsPolicy → allowed(url)."""

from __future__ import annotations

import time

import pytest

from pipeline.robots import MAX_ROBOTS_BYTES, RobotsPolicy, RobotsRule, parse_robots, policy_for_status

UA = "gov-notices/0.1 (+https://example.org/bot)"


def policy(*lines: str, user_agent: str = UA) -> RobotsPolicy:
    return parse_robots("\n".join(lines), user_agent)


# --- matching: RFC 9309 §2.2.2-2.2.3 and Google's documented examples ---------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/fish", "/fish", False),
        ("/fish", "/fish.html", False),
        ("/fish", "/fish/salmon.html", False),
        ("/fish", "/fishheads/yummy.html", False),
        ("/fish", "/fish.php?id=anything", False),
        ("/fish", "/Fish.asp", True),  # paths are case-sensitive
        ("/fish", "/catfish", True),
        ("/fish", "/?id=fish", True),
        ("/fish*", "/fish", False),
        ("/fish*", "/fishheads", False),
        ("/fish*", "/catfish", True),
        ("/fish/", "/fish/", False),
        ("/fish/", "/fish/?id=anything", False),
        ("/fish/", "/fish/salmon.htm", False),
        ("/fish/", "/fish", True),
        ("/fish/", "/fish.html", True),
        ("/*.php", "/index.php", False),
        ("/*.php", "/filename.php?parameters", False),
        ("/*.php", "/folder/any.php.file.html", False),
        ("/*.php", "/windows.PHP", True),
        ("/*.php$", "/filename.php", False),
        ("/*.php$", "/folder/filename.php", False),
        ("/*.php$", "/filename.php?parameters", True),
        ("/*.php$", "/filename.php/", True),
        ("/*.php$", "/filename.php5", True),
        ("/fish*.php", "/fish.php", False),
        ("/fish*.php", "/fishheads/catfish.php?parameters", False),
        ("/fish*.php", "/Fish.PHP", True),
        ("/$", "/", False),
        ("/$", "/index.html", True),
        ("/a$b", "/a$b/c", False),  # only a final '$' anchors; elsewhere it is literal
        ("/a**b", "/a/x/b", False),
    ],
)
def test_google_documented_pattern_examples(pattern: str, path: str, expected: bool) -> None:
    assert policy("User-agent: *", f"Disallow: {pattern}").allowed(path) is expected


def test_longest_match_wins_in_both_directions() -> None:
    p = policy(
        "User-agent: *", "Disallow: /example/page/", "Allow: /example/page/disallowed.gif", "Disallow: /"
    )
    assert p.allowed("/example/page/disallowed.gif")
    assert not p.allowed("/example/page/other.gif")
    assert not p.allowed("/other")
    q = policy("User-agent: *", "Allow: /p", "Disallow: /page")
    assert not q.allowed("/page.html") and q.allowed("/pub")


def test_allow_wins_a_tie_with_disallow() -> None:
    # Google's example: equal length, so Allow wins whatever the order in the file.
    assert policy("User-agent: *", "Disallow: /page", "Allow: /page").allowed("/page")
    assert policy("User-agent: *", "Allow: /page", "Disallow: /page").allowed("/page")
    assert policy("User-agent: *", "Allow: /$", "Disallow: /").allowed("/")
    assert not policy("User-agent: *", "Allow: /$", "Disallow: /").allowed("/page.htm")


def test_specificity_counts_octets_of_the_pattern_including_wildcards() -> None:
    p = policy("User-agent: *", "Allow: /page", "Disallow: /*.html")  # 5 vs 7 octets
    assert not p.allowed("/page.html") and p.allowed("/page.php")


def test_empty_disallow_allows_everything() -> None:
    p = policy("User-agent: *", "Disallow:")
    assert p.rules == [] and p.allowed("/anything")


def test_robots_txt_itself_is_always_allowed() -> None:
    assert policy("User-agent: *", "Disallow: /").allowed("/robots.txt")
    assert RobotsPolicy.disallow_all().allowed("http://x.gov.cn/robots.txt")
    assert not RobotsPolicy.disallow_all().allowed("http://x.gov.cn/robots.txt.bak")


def test_no_rules_and_no_groups_allow_everything() -> None:
    assert policy("").allowed("/a")
    assert policy("# only a comment").allowed("/a")


# --- accepted URL forms ---------------------------------------------------------------------------


def test_allowed_accepts_absolute_urls_paths_and_queries() -> None:
    p = policy("User-agent: *", "Disallow: /search?", "Disallow: /$")
    assert not p.allowed("http://www.gov.cn/")
    assert not p.allowed("https://www.gov.cn")  # an empty path means '/'
    assert p.allowed("https://www.gov.cn/search")
    assert not p.allowed("https://www.gov.cn/search?q=%E6%94%BF%E7%AD%96#top")
    assert not p.allowed("/search?q=1")
    assert p.allowed("/index.html#search?")  # the fragment is never sent to the server


# --- percent-encoding and Chinese paths (RFC 9309 §2.2.2) ----------------------------------------


@pytest.mark.parametrize(
    ("pattern", "url"),
    [
        ("/政", "/%E6%94%BF/a.html"),
        ("/%E6%94%BF", "/政/a.html"),
        ("/%e6%94%bf", "/%E6%94%BF/a.html"),  # hex case does not matter
        ("/foo/bar/ツ", "/foo/bar/%E3%83%84"),  # RFC 9309 §2.2.2 table
        ("/foo/bar/%62%61%7A", "/foo/bar/baz"),  # RFC 9309 §2.2.2 table: unreserved decoded
        ("/zwgk/", "http://www.xinyang.gov.cn/%7A%77%67%6B/index.html"),
    ],
)
def test_percent_encoding_is_normalised_on_both_sides(pattern: str, url: str) -> None:
    assert not policy("User-agent: *", f"Disallow: {pattern}").allowed(url)


def test_encoded_reserved_characters_stay_distinct() -> None:
    p = policy("User-agent: *", "Disallow: /a%2fb")
    assert p.rules == [RobotsRule(allow=False, pattern="/a%2Fb")]
    assert not p.allowed("/a%2Fb") and p.allowed("/a/b")


def test_chinese_patterns_from_a_gbk_free_utf8_file() -> None:
    body = "User-agent: *\nDisallow: /政务公开/内部\n".encode()
    p = parse_robots(body, UA)
    assert p.rules[0].pattern == "/%E6%94%BF%E5%8A%A1%E5%85%AC%E5%BC%80/%E5%86%85%E9%83%A8"
    assert not p.allowed("https://www.gov.cn/政务公开/内部/1.html")
    assert p.allowed("https://www.gov.cn/政务公开/通知/1.html")


# --- groups and user-agent matching (RFC 9309 §2.2.1) --------------------------------------------


def test_product_token_matches_case_insensitively_and_ignores_version() -> None:
    body = "User-agent: *\nDisallow: /\n\nUser-agent: GOV-Notices/2.0\nDisallow: /private\n"
    p = parse_robots(body, UA)
    assert p.rules == [RobotsRule(allow=False, pattern="/private")]
    assert p.allowed("/public") and not p.allowed("/private/x")


def test_product_token_must_match_whole_not_a_prefix() -> None:
    body = "User-agent: gov\nDisallow: /a\n\nUser-agent: gov-notices-extra\nDisallow: /b\n"
    assert parse_robots(body, UA).allowed("/a") and parse_robots(body, UA).allowed("/b")


def test_all_matching_groups_are_merged() -> None:
    p = policy(
        "User-agent: gov-notices",
        "Disallow: /a",
        "",
        "User-agent: *",
        "Disallow: /everything",
        "",
        "User-agent: gov-notices",
        "Allow: /a/public",
        "Disallow: /b",
    )
    assert [r.pattern for r in p.rules] == ["/a", "/a/public", "/b"]
    assert not p.allowed("/a/x") and p.allowed("/a/public/1") and not p.allowed("/b")
    assert p.allowed("/everything")  # the '*' group is not used once a named group matches


def test_consecutive_user_agent_lines_share_one_group() -> None:
    p = policy("User-agent: a", "User-agent: gov-notices", "User-agent: b", "Disallow: /x")
    assert not p.allowed("/x")
    q = policy("User-agent: gov-notices", "Disallow: /x", "User-agent: b", "Disallow: /y")
    assert not q.allowed("/x") and q.allowed("/y")  # a user-agent after rules starts a new group


def test_star_groups_are_merged_when_no_named_group_matches() -> None:
    p = policy(
        "User-agent: *",
        "Disallow: /a",
        "User-agent: Baiduspider",
        "Disallow: /",
        "User-agent: *",
        "Disallow: /b",
    )
    assert not p.allowed("/a") and not p.allowed("/b") and p.allowed("/c")


def test_no_matching_group_and_no_star_group_allows_everything() -> None:
    p = policy("User-agent: Baiduspider", "Disallow: /")
    assert p.rules == [] and p.allowed("/anything")


def test_rules_before_any_user_agent_are_ignored() -> None:
    p = policy("Disallow: /", "Crawl-delay: 9", "User-agent: *", "Disallow: /x")
    assert p.rules == [RobotsRule(allow=False, pattern="/x")] and p.crawl_delay is None


# --- line syntax (RFC 9309 §2.2) ------------------------------------------------------------------


def test_comments_whitespace_key_case_and_unknown_keys() -> None:
    p = policy(
        "# robots for www.gov.cn",
        "   USER-AGENT :   *   # everyone",
        "Host: www.gov.cn",  # unknown key: ignored, and does not split the group
        "dIsAlLoW:/private # keep out",
        "Allow :\t/private/open\t",
        "Clean-param: ref /x",
        "this line has no colon",
        "Disallow /nocolon",
    )
    assert p.rules == [
        RobotsRule(allow=False, pattern="/private"),
        RobotsRule(allow=True, pattern="/private/open"),
    ]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(newline: str) -> None:
    body = newline.join(["User-agent: *", "Disallow: /a", "Allow: /a/b", ""]).encode()
    p = parse_robots(body, UA)
    assert [r.pattern for r in p.rules] == ["/a", "/a/b"]


def test_utf8_bom_is_skipped_in_bytes_and_str() -> None:
    body = b"\xef\xbb\xbfUser-agent: *\r\nDisallow: /x\r\n"
    assert not parse_robots(body, UA).allowed("/x")
    assert not parse_robots("\ufeffUser-agent: *\nDisallow: /x\n", UA).allowed("/x")


def test_common_misspellings_of_disallow_and_user_agent() -> None:
    assert not policy("useragent: *", "dissallow: /x").allowed("/x")


def test_binary_garbage_does_not_raise() -> None:
    garbage = bytes(range(256)) * 50 + b"\x00\xff\xfe:\x80\x81\nUser-agent: *\nDisallow: /x\n\x00:"
    p = parse_robots(garbage, UA)
    assert not p.allowed("/x") and p.allowed("/y")
    assert parse_robots(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", UA).allowed("/")
    assert parse_robots("User-agent: *\nDisallow: /\udcff\n", UA).allowed("/other")  # lone surrogate


def test_only_the_first_500_kib_is_parsed() -> None:
    filler = b"# " + b"x" * 1000 + b"\n"
    head = b"User-agent: *\nDisallow: /early\n"
    body = head + filler * (MAX_ROBOTS_BYTES // len(filler) + 1) + b"Disallow: /late\n"
    assert len(body) > MAX_ROBOTS_BYTES
    p = parse_robots(body, UA)
    assert not p.allowed("/early") and p.allowed("/late")


def test_a_line_cut_by_the_limit_is_dropped() -> None:
    head = b"User-agent: *\n"
    pad = b"#" * (MAX_ROBOTS_BYTES - len(head) - len(b"Allow: /a") - 1) + b"\n"
    body = head + pad + b"Allow: /a/b/c\nDisallow: /\n"  # the limit falls inside '/a/b/c'
    p = parse_robots(body, UA)
    assert p.rules == []  # not a truncated 'Allow: /a'


def test_matching_is_fast_on_large_and_hostile_files() -> None:
    lines = ["User-agent: *"] + [f"Disallow: /dir{i}/*/page{i}.html$" for i in range(5000)]
    lines.append("Disallow: /" + "*a" * 200 + "$")
    p = policy(*lines)
    start = time.perf_counter()
    for i in range(50):
        assert p.allowed(f"/other/{i}/" + "a" * 2000 + "b")
    assert not p.allowed("/dir42/x/y/page42.html")
    assert time.perf_counter() - start < 2.0


# --- crawl-delay and sitemaps ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10", 10.0),
        ("0.5", 0.5),
        (" 2 ", 2.0),
        ("0", 0.0),
        ("86400", 3600.0),
        ("-1", None),
        ("abc", None),
        ("nan", None),
        ("inf", None),
        ("", None),
    ],
)
def test_crawl_delay_values(value: str, expected: float | None) -> None:
    assert policy("User-agent: *", f"Crawl-delay: {value}").crawl_delay == expected


def test_crawl_delay_comes_from_the_chosen_group() -> None:
    p = policy(
        "User-agent: *", "Crawl-delay: 30", "User-agent: gov-notices", "Crawl-delay: 2", "Disallow: /x"
    )
    assert p.crawl_delay == 2.0
    assert policy("User-agent: Baiduspider", "Crawl-delay: 30").crawl_delay is None


def test_sitemaps_are_global_absolute_ordered_and_deduplicated() -> None:
    p = policy(
        "Sitemap: https://www.gov.cn/sitemap.xml",
        "User-agent: Baiduspider",
        "Sitemap: http://www.gov.cn/zwgk/sitemap.xml",
        "Disallow: /",
        "sitemap: https://www.gov.cn/sitemap.xml",
        "Sitemap: /relative/sitemap.xml",
        "Sitemap: ftp://www.gov.cn/sitemap.xml",
        "User-agent: *",
        "Sitemap: https://www.gov.cn/news/sitemap.xml # comment",
    )
    assert p.sitemaps == [
        "https://www.gov.cn/sitemap.xml",
        "http://www.gov.cn/zwgk/sitemap.xml",
        "https://www.gov.cn/news/sitemap.xml",
    ]


# --- HTTP status (RFC 9309 §2.3.1) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "source", "allowed"),
    [
        (200, "parsed", False),
        (204, "parsed", False),
        (400, "allow_all", True),
        (401, "allow_all", True),
        (403, "allow_all", True),
        (404, "allow_all", True),
        (410, "allow_all", True),
        (429, "disallow_all", False),
        (500, "disallow_all", False),
        (503, "disallow_all", False),
        (301, "disallow_all", False),
        (100, "disallow_all", False),
        (999, "disallow_all", False),
    ],
)
def test_policy_for_status(status: int, source: str, allowed: bool) -> None:
    body = b"User-agent: *\nDisallow: /private\n" if status != 204 else None
    p = policy_for_status(status, body, UA)
    assert p.source == source
    if status == 204:
        assert p.allowed("/private")  # 2xx with no body: an empty file allows everything
    else:
        assert p.allowed("/private/x") is allowed
    assert p.allowed("/robots.txt")


def test_allow_all_and_disallow_all_constructors() -> None:
    assert RobotsPolicy.allow_all().allowed("/x") and RobotsPolicy.allow_all().source == "allow_all"
    assert not RobotsPolicy.disallow_all().allowed("/") and not RobotsPolicy.disallow_all().allowed(
        "https://a.gov.cn"
    )


def test_policies_are_frozen_and_compare_by_value() -> None:
    a = policy("User-agent: *", "Disallow: /x")
    b = policy("User-agent: *", "Disallow: /x")
    a.allowed("/x")
    assert a == b
    with pytest.raises(ValueError):
        a.crawl_delay = 5.0  # type: ignore[misc]
