"""Models passed between the stages of ``pipeline/`` (internal contract, not published).

fetch → FetchResult → decode → DecodedPage → clean → CleanDocument → metadata / sections /
attachments / integrity → record → NoticeRecord.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.record import DocNumber, IndexNumber


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FetchResult(_Model):
    """Raw bytes as a server sent them: the source of truth every later stage re-runs from."""

    url: str = Field(description="The URL asked for")
    final_url: str | None = Field(None, description="The URL after redirects")
    status: int = Field(200, description="HTTP status code")
    headers: dict[str, str] = Field(default_factory=dict, description="Response headers (last value wins)")
    body: bytes = Field(description="Response body, decompressed, before any decoding")
    fetched_at: dt.datetime | None = Field(None, description="When the response arrived (UTC)")
    warc: str | None = Field(None, description="Archive location of the response, 'file.warc.gz#offset'")

    @property
    def content_type(self) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == "content-type":
                return value
        return None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @classmethod
    def from_file_bytes(cls, body: bytes, *, url: str, content_type: str | None = None) -> FetchResult:
        """A page read from disk, as if a server had sent it with ``content_type``."""
        headers = {"Content-Type": content_type} if content_type else {}
        return cls(url=url, final_url=url, status=200, headers=headers, body=body)


EncodingSource = Literal["bom", "http", "meta", "detected", "fallback"]


class DecodedPage(_Model):
    """The page as text, with how the encoding was chosen."""

    url: str
    content_type: str | None = None
    text: str
    encoding: str
    encoding_source: EncodingSource
    replacement_chars: int = Field(0, description="U+FFFD characters introduced by decoding")
    sha256: str
    fetched_at: dt.datetime | None = None
    warc: str | None = None
    warnings: list[str] = Field(default_factory=list)


class Link(_Model):
    text: str
    href: str = Field(description="Absolute URL")


class TextLine(_Model):
    """One paragraph of the main text: a ``<p>``, a ``<br>``-separated line or a table row."""

    text: str
    tag: str = Field(description="Tag of the block that holds the line")
    link_chars: int = Field(0, description="Characters of the line inside <a> elements")
    emphasis: bool = Field(False, description="The whole line is bold / strong / a heading tag")
    align: str | None = Field(None, description="center / right when the block says so")


class HiddenBlock(_Model):
    """Content a browser would not show: kept aside, since injected spam hides there."""

    reason: str = Field(description="display:none, visibility:hidden, off-screen, hidden attribute, ...")
    text: str
    links: list[Link] = Field(default_factory=list)


class CleanDocument(_Model):
    """The parsed page with boilerplate separated from the main text.

    ``tree`` is the cleaned lxml document (scripts, styles, comments and hidden elements
    removed) so that later stages never parse the HTML again; ``content`` is the main text.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    url: str
    base_url: str
    decoded: DecodedPage
    tree: Any = Field(exclude=True, repr=False)
    content_node: Any = Field(None, exclude=True, repr=False)
    content: list[TextLine] = Field(default_factory=list)
    content_strategy: Literal["density", "script", "none"] = "none"
    links_near_content: list[Link] = Field(
        default_factory=list, description="Links in the main text and in the blocks right after it"
    )
    hidden: list[HiddenBlock] = Field(default_factory=list)
    set_aside: list[str] = Field(
        default_factory=list,
        description="Lines inside the article block that are not its text (a 文号 line atop it, "
        "furniture and metadata lines), in order: later stages may read them",
    )
    scripts: list[str] = Field(default_factory=list, description="Inline script texts, as found")
    script_fields: dict[str, str] = Field(
        default_factory=dict, description="String fields of inline JSON/JS article data (title, source, ...)"
    )
    warnings: list[str] = Field(default_factory=list)

    @property
    def body_text(self) -> str:
        return "\n".join(line.text for line in self.content)


class NoticeMetadata(_Model):
    """The metadata fields found on a page, and which strategy found each one."""

    title: str | None = None
    index_no: str | None = None
    publisher: str | None = None
    published_date: dt.date | None = None
    written_date: dt.date | None = None
    doc_no: str | None = None
    disclosure: str | None = None
    validity: str | None = None
    topic: str | None = None
    index_no_parsed: IndexNumber | None = None
    doc_no_parsed: DocNumber | None = None
    extras: dict[str, str] = Field(default_factory=dict)
    field_sources: dict[str, str] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
