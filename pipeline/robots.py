"""robots.txt (RFC 9309): bytes or text → RobotsPolicy. Pure, no I/O.

Fetching ``/robots.txt`` belongs to fetch; this module only turns what the server sent
(status and body) into a policy that answers ``allowed(url)``.

RFC 9309 points, and the choices made where it leaves room:

- Groups: one or more consecutive ``user-agent`` lines, then rules. The crawler's product
  token (``gov-notices`` from ``gov-notices/0.1 (+https://...)``) is matched
  case-insensitively against each value's own product token; every matching group is
  merged, else every ``*`` group, else everything is allowed.
- The longest pattern (in octets, after normalisation) wins; Allow wins a tie. ``*`` matches
  any sequence, a final ``$`` anchors. An empty ``Disallow:`` (or ``Allow:``) is no rule.
  ``/robots.txt`` is always allowed.
- Patterns and paths are compared after normalising percent-encoding: escapes of unreserved
  characters are decoded, other escapes upper-cased, and non-ASCII, space and control
  characters percent-encoded as UTF-8, so ``/%e6%94%bf``, ``/%E6%94%BF`` and ``/政`` agree.
- A pattern not starting with ``/`` or ``*`` is kept as written (so ``Disallow: admin/``
  never matches); the RFC grammar requires the slash and guessing could over-block.
- Only the first 500 KiB are parsed (the RFC's minimum); a line cut by that limit is dropped.
- Status: 2xx → parse; 4xx ("unavailable") → allow all, except 429, which asks the crawler
  to back off and is treated like 5xx; 5xx and anything else ("unreachable") → disallow
  all. The HTTP client follows redirects, so a 3xx reaching here means it gave up.
- ``Crawl-delay`` (not in the RFC): the largest valid value in the chosen groups, capped at
  3600 s. ``Sitemap``: absolute http(s) URLs anywhere in the file, in order, deduplicated.
- Matching uses no regular expressions: a pattern is compiled once into its literal pieces
  and matched with ``str.startswith``/``str.find`` left to right, which is linear per piece
  and cannot backtrack catastrophically on a hostile ``/*a*a*a*a…`` pattern.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, PrivateAttr

__all__ = ["RobotsPolicy", "RobotsRule", "parse_robots", "policy_for_status"]

log = logging.getLogger(__name__)

MAX_ROBOTS_BYTES = 500 * 1024  # RFC 9309 §2.5: parse at least the first 500 KiB
MAX_CRAWL_DELAY = 3600.0  # seconds; anything above is a typo or hostile, not a real request

_UTF8_BOM = b"\xef\xbb\xbf"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # not str.splitlines: it also splits on \x0c, \u2028 …
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_DECIMAL = re.compile(r"\+?(?:\d+(?:\.\d*)?|\.\d+)")
_PRODUCT_TOKEN_END = re.compile(r"[/\s]")

# Google's parser accepts these misspellings; accepting them errs towards obeying the site.
_USER_AGENT_KEYS = frozenset({"user-agent", "useragent", "user agent"})
_DISALLOW_KEYS = frozenset({"disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw"})
_ALLOW_KEYS = frozenset({"allow"})

# A compiled pattern: (allow, literal pieces between '*', anchored by a final '$').
_Matcher = tuple[bool, tuple[str, ...], bool]


class RobotsRule(BaseModel):
    """One ``Allow``/``Disallow`` line of the chosen group(s)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allow: bool
    pattern: str  # path pattern as written, percent-encoding normalised


class RobotsPolicy(BaseModel):
    """What one crawler may fetch from one host, with the site's crawl-delay and sitemaps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: list[RobotsRule]
    crawl_delay: float | None = None
    sitemaps: list[str] = []
    source: Literal["parsed", "allow_all", "disallow_all"] = "parsed"

    # Built once at construction (not lazily) so that equality between policies does not
    # depend on whether allowed() has been called yet: pydantic compares private attributes.
    _matchers: tuple[_Matcher, ...] = PrivateAttr(default=())

    def model_post_init(self, context: Any, /) -> None:
        compiled = [_compile(rule) for rule in self.rules if rule.pattern]
        # Longest pattern first, Allow before Disallow at equal length: the first match wins.
        compiled.sort(key=lambda item: (-item[0], not item[1][0]))
        self._matchers = tuple(matcher for _, matcher in compiled)

    @classmethod
    def allow_all(cls) -> RobotsPolicy:
        return cls(rules=[], source="allow_all")

    @classmethod
    def disallow_all(cls) -> RobotsPolicy:
        return cls(rules=[RobotsRule(allow=False, pattern="/")], source="disallow_all")

    def allowed(self, url: str) -> bool:
        """May ``url`` (absolute, or a path with optional query) be fetched?"""
        target = _normalise(_path_and_query(url))
        if target.split("?", 1)[0] == "/robots.txt":
            return True
        for allow, pieces, anchored in self._matchers:
            if _matches(pieces, anchored, target):
                return allow
        return True


def parse_robots(body: bytes | str, user_agent: str) -> RobotsPolicy:
    """Parse a robots.txt body into the policy for the crawler named by ``user_agent``."""
    text = _decode(body)
    token = _product_token(user_agent)

    # Each group: (its user-agent product tokens, its rules, its crawl-delays).
    groups: list[tuple[list[str], list[RobotsRule], list[float]]] = []
    sitemaps: list[str] = []
    in_agent_lines = False  # the previous record was a user-agent line

    for raw_line in _LINE_BREAK.split(text):
        line = raw_line.split("#", 1)[0].strip()
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        value = value.strip()

        if key in _USER_AGENT_KEYS:
            if not in_agent_lines:
                groups.append(([], [], []))
            groups[-1][0].append(_product_token(value))
            in_agent_lines = True
        elif key == "sitemap":
            # Global: not part of any group, and does not end a run of user-agent lines.
            if _is_absolute_http_url(value) and value not in sitemaps:
                sitemaps.append(value)
        elif key in _ALLOW_KEYS or key in _DISALLOW_KEYS:
            in_agent_lines = False
            if groups and value:  # rules before any user-agent line belong to no group
                groups[-1][1].append(RobotsRule(allow=key in _ALLOW_KEYS, pattern=_normalise(value)))
        elif key == "crawl-delay":
            in_agent_lines = False
            delay = _parse_delay(value)
            if groups and delay is not None:
                groups[-1][2].append(delay)
        # Unknown keys are ignored and, as in Google's parser, do not split a group.

    chosen = [group for group in groups if token and token in group[0]]
    if not chosen:
        chosen = [group for group in groups if "*" in group[0]]
    rules = [rule for group in chosen for rule in group[1]]
    delays = [delay for group in chosen for delay in group[2]]
    return RobotsPolicy(rules=rules, crawl_delay=max(delays) if delays else None, sitemaps=sitemaps)


def policy_for_status(status: int, body: bytes | None, user_agent: str) -> RobotsPolicy:
    """The policy implied by fetching robots.txt with HTTP ``status`` (RFC 9309 §2.3.1)."""
    if 200 <= status < 300:
        return parse_robots(body or b"", user_agent)
    if 400 <= status < 500 and status != 429:
        return RobotsPolicy.allow_all()
    # 429 and 5xx: the server is overloaded or failing; network errors land here too.
    return RobotsPolicy.disallow_all()


def _decode(body: bytes | str) -> str:
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    if len(data) > MAX_ROBOTS_BYTES:
        log.info("robots.txt is %d bytes; parsing the first %d", len(data), MAX_ROBOTS_BYTES)
        data = data[:MAX_ROBOTS_BYTES]
        # Drop the line the limit cut in half: '/private-area' cut to '/pri' would block
        # too much, 'Allow: /a/b' cut to 'Allow: /a' would allow too much.
        last_break = max(data.rfind(b"\n"), data.rfind(b"\r"))
        data = data[: last_break + 1]
    return data.decode("utf-8", errors="replace")


def _product_token(value: str) -> str:
    """``gov-notices/0.1 (+https://...)`` → ``gov-notices`` (lower-cased)."""
    return _PRODUCT_TOKEN_END.split(value.strip(), maxsplit=1)[0].lower()


def _parse_delay(value: str) -> float | None:
    if not _DECIMAL.fullmatch(value):
        return None  # negative, empty, 'nan', 'inf', '1_0', words
    delay = float(value)
    if not math.isfinite(delay):
        return None
    return min(delay, MAX_CRAWL_DELAY)


def _is_absolute_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _path_and_query(url: str) -> str:
    url = url.strip()
    if url.startswith("/") and not url.startswith("//"):
        return url.split("#", 1)[0]
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        path = parts.path or "/"
        return f"{path}?{parts.query}" if parts.query else path
    relative = url.split("#", 1)[0]
    return relative if relative.startswith("/") else "/" + relative


def _normalise(value: str) -> str:
    """Percent-encoding in one canonical form (RFC 3986 §6.2.2.2 plus UTF-8 encoding)."""
    out: list[str] = []
    i = 0
    while i < len(value):
        char = value[i]
        if char == "%":
            match = _PERCENT.match(value, i)
            if match is None:
                out.append("%25")  # a stray '%' is a literal percent sign
                i += 1
                continue
            decoded = chr(int(match.group(1), 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + match.group(1).upper())
            i += 3
            continue
        if char.isascii() and char.isprintable() and char != " ":
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        i += 1
    return "".join(out)


def _compile(rule: RobotsRule) -> tuple[int, _Matcher]:
    pattern = rule.pattern
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    # Length in octets: the normalised pattern is pure ASCII, so characters are octets.
    return len(pattern), (rule.allow, tuple(body.split("*")), anchored)


def _matches(pieces: tuple[str, ...], anchored: bool, target: str) -> bool:
    """Glob match with '*' only, anchored at the start; greedy-leftmost is exact here."""
    first, *rest = pieces
    if not target.startswith(first):
        return False
    if not rest:
        return not anchored or len(target) == len(first)
    pos = len(first)
    *middle, last = rest
    for piece in middle:
        found = target.find(piece, pos)
        if found < 0:
            return False
        pos = found + len(piece)
    if anchored:
        # The last piece must end the target; placing earlier pieces leftmost leaves it the most room.
        return len(target) - len(last) >= pos and target.endswith(last)
    return target.find(last, pos) >= 0
