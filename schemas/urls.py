"""One reading of a web URL, shared by every check and by the request (issue 14).

``urllib.parse.urlsplit`` and requests/urllib3 do not always agree on where a URL's host is:
``http://127.0.0.1\\@gov.test/x`` is host ``gov.test`` to ``urlsplit`` (with user info
``127.0.0.1\\``) but requests connects to 127.0.0.1. A check that reads one and a request that
reads the other lets a link through to a host the site check never saw. So every URL that comes
from a page, a sitemap or a configuration is first read here, the way a browser reads it
(WHATWG: tabs and newlines removed, ``\\`` is ``/`` in http(s) URLs), and refused when parsers
could still disagree: user info, ``%``-escapes, spaces or control characters in the authority.
What this returns is what is checked, stored and requested. Pure, no I/O.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_C0_EDGES = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "
# Characters that never stand in a host[:port] that requests and urlsplit read alike.
_BAD_AUTHORITY = re.compile(r"""[@%\\\s"<>^`{|}\x00-\x1f\x7f]""")


def web_url(url: str) -> str | None:
    """The http(s) URL as a browser reads it, or None when it is not one every parser reads alike.

    ``http://127.0.0.1\\@gov.test/x`` → ``http://127.0.0.1/@gov.test/x`` (host 127.0.0.1, as
    requests reads it); ``http://user@host/``, ``http://a%5C@b/``, ``http://a b/`` → None.
    Scheme and host are lower-cased; path, query and fragment are kept as written.
    """
    if not isinstance(url, str):
        return None
    url = _TAB_NEWLINE.sub("", url.strip(_C0_EDGES))
    scheme, sep, rest = url.partition(":")
    if not sep or scheme.lower() not in ("http", "https"):
        return None
    rest = rest.replace("\\", "/")  # WHATWG: a backslash is a slash in a special URL
    if not rest.startswith("//"):
        return None
    try:
        parts = urlsplit(f"{scheme.lower()}:{rest}")
        port = parts.port  # raises on a bad or out-of-range port
        host = parts.hostname
    except ValueError:
        return None
    if not host or _BAD_AUTHORITY.search(parts.netloc):
        return None
    netloc = parts.netloc.lower() if port is None else f"{parts.netloc.rsplit(':', 1)[0].lower()}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
