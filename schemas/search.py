"""Models of the archivists' search: the query, its hits, a record's version history.

Shared by the store (``pipeline/store.py``), the CLI (``notices search/show/diff``) and the
HTTP API (``pipeline/api.py``, where they become the OpenAPI schema).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.record import SectionKind


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


Validity = Literal["有效", "失效", "废止"]


class SearchQuery(_Model):
    """Full text and filters; every part optional. Results are newest first."""

    q: str | None = Field(
        None,
        max_length=200,
        description="Words to find in title, body and metadata; each word of 3+ characters uses the "
        "trigram full-text index, shorter words a substring scan",
    )
    publisher: str | None = Field(None, max_length=200, description="发布机构 contains this")
    since: dt.date | None = Field(None, description="Published on or after this date")
    until: dt.date | None = Field(None, description="Published on or before this date")
    validity: Validity | None = Field(None, description="有效性")
    doc_no: str | None = Field(None, max_length=100, description="文号 contains this")
    index_no: str | None = Field(None, max_length=100, description="索引号 contains this")
    topic: str | None = Field(None, max_length=100, description="主题分类 contains this")
    kind: SectionKind | None = Field(None, description="Has a section of this kind")
    integrity: Literal["clean", "suspect"] | None = Field(None, description="Integrity status")
    limit: int = Field(20, ge=1, le=200)

    @field_validator("q", "publisher", "doc_no", "index_no", "topic", "cursor")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("control characters are not allowed")
        return value

    @field_validator("q")
    @classmethod
    def _few_words(cls, value: str | None) -> str | None:
        if value is not None and len(value.split()) > 10:
            raise ValueError("at most 10 words")
        return value

    cursor: str | None = Field(None, max_length=200, description="next_cursor of the previous page")


class SearchHit(_Model):
    id: str
    url: str
    title: str | None
    publisher: str | None
    published_date: dt.date | None
    validity: str | None
    doc_no: str | None
    integrity: Literal["clean", "suspect"]
    current_version: int
    snippet: str = Field("", description="A passage around the first match; matches between [[ and ]]")


class SearchPage(_Model):
    items: list[SearchHit]
    next_cursor: str | None = Field(None, description="Pass as cursor for the next page; None at the end")


class VersionInfo(_Model):
    """One version of a notice: when its bytes were fetched and where they are archived."""

    version: int
    record_hash: str
    sha256: str = Field(description="sha256 of the archived body this version was extracted from")
    fetched_at: dt.datetime | None
    warc: str | None = Field(description="WARC file#offset of the archived response")
    extractor_version: str
    created_at: dt.datetime
