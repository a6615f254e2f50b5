"""Record format v1: the public contract with archivists and open-data feeds.

Field names are English; the Chinese label each one comes from is in its description.
``SCHEMA_VERSION`` is major.minor: the major number changes only with a breaking change, the
minor one when optional fields are added (1.1 added ``entities``; a "1" record has none).
``schemas/notice_record.schema.json`` is the published JSON Schema and a test keeps it equal
to :func:`record_json_schema`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.entity import Entity

SCHEMA_VERSION: Literal["1.1"] = "1.1"

SectionKind = Literal[
    "background",
    "activities",
    "outcomes",
    "problems",
    "next_steps",
    "tasks",
    "arrangements",
    "requirements",
    "other",
]

FieldName = Literal[
    "title",
    "index_no",
    "publisher",
    "published_date",
    "written_date",
    "doc_no",
    "disclosure",
    "validity",
    "topic",
]


METADATA_FIELDS: tuple[FieldName, ...] = get_args(FieldName)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoticeSection(_Model):
    """One node of the body's outline (一、 / （一） / 1. / （1）, or 第一章 / 第一条)."""

    heading: str = Field(
        description="小标题: the heading line as printed, up to its first 。 when it runs on"
    )
    level: int = Field(
        ge=1, le=6, description="Outline level: 1 一、, 2 （一）, 3 1., 4 （1）; 5/6 for 第X章/第X条"
    )
    kind: SectionKind = Field(description="What the section is about (background, activities, outcomes, ...)")
    text: str = Field("", description="The section's own paragraphs (not its children's), joined by newlines")
    children: list[NoticeSection] = Field(default_factory=list, description="Sub-sections, in order")


class Attachment(_Model):
    """附件: a document linked in or right after the article."""

    name: str = Field(description="附件名称: the link text as shown")
    url: str = Field(description="Absolute URL of the document")


class CitedDocument(_Model):
    """A 《…》 reference in the body, with the 文号 printed right after it when there is one."""

    title: str = Field(description="引用文件标题: the text inside 《》")
    doc_no: str | None = Field(None, description="文号 printed in brackets right after the title")


class IntegrityFinding(_Model):
    """One piece of evidence that the page was tampered with."""

    kind: str = Field(description="hidden_links, injected_keyword, script_redirect, ...")
    evidence: list[str] = Field(
        min_length=1, description="The exact strings found on the page: at least one, none empty"
    )
    locations: list[str] = Field(default_factory=list, description="Where: body, title, hidden block, script")
    count: int = Field(ge=0, description="How many times the evidence occurs")
    note: str | None = Field(None, description="What the finding means, e.g. the term it seems to replace")

    @field_validator("evidence", mode="before")
    @classmethod
    def _no_blank_evidence(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [e for e in value if not isinstance(e, str) or e.strip()]
        return value


class Integrity(_Model):
    """Does the page look tampered with (黑链, injected gambling keywords, spam redirects)?"""

    status: Literal["clean", "suspect"] = Field("clean", description="suspect when any finding was made")
    findings: list[IntegrityFinding] = Field(default_factory=list)

    @field_validator("findings", mode="before")
    @classmethod
    def _drop_findings_without_evidence(cls, value: Any) -> Any:
        # Records stored before 2026-12 could hold a finding with no evidence; such a finding is
        # no finding (decisions.md, "A tamper verdict needs evidence"). New ones cannot be built.
        if isinstance(value, list):
            return [
                f
                for f in value
                if not isinstance(f, dict)
                or any(isinstance(e, str) and e.strip() for e in f.get("evidence") or [])
            ]
        return value

    @model_validator(mode="after")
    def _status_follows_findings(self) -> Integrity:
        self.status = "suspect" if self.findings else "clean"
        return self


class Source(_Model):
    """Provenance: what was fetched and how it was read."""

    url: str = Field(description="The URL the bytes came from")
    content_type: str | None = Field(None, description="HTTP Content-Type header as sent")
    encoding: str = Field(description="Encoding the bytes were decoded with")
    encoding_source: Literal["bom", "http", "meta", "detected", "fallback"] = Field(
        description="Which evidence chose the encoding"
    )
    sha256: str = Field(description="sha256 of the raw body bytes, hex")
    fetched_at: dt.datetime | None = Field(None, description="When the bytes were fetched (UTC), if known")
    warc: str | None = Field(None, description="WARC file and offset of the archived response, if archived")


class IndexNumber(_Model):
    """索引号 parsed: ``640400017/2024-00208`` = organisation code / year - serial."""

    raw: str
    org_code: str | None = None
    year: int | None = None
    serial: str | None = None
    standard: bool = Field(description="True when the raw string has the standard org/year-serial form")


class DocNumber(_Model):
    """文号 parsed: ``固政公开办发〔2024〕3号`` = prefix, year, number."""

    raw: str
    prefix: str | None = None
    year: int | None = None
    number: int | None = None
    standard: bool = Field(description="True when the raw string has the prefix〔year〕N号 form")


class NoticeRecord(_Model):
    """One notice page as a validated record (format v1)."""

    schema_version: Literal["1", "1.1"] = Field(
        SCHEMA_VERSION,
        description="Record format version: 1.1 adds entities (records written as 1 have none)",
    )
    id: str = Field(description="Stable id: sha256 of the canonical URL, first 32 hex digits")
    url: str = Field(description="Canonical URL of the notice page")
    title: str | None = Field(None, description="标题: the visible notice title")
    index_no: str | None = Field(None, description="索引号")
    publisher: str | None = Field(None, description="发布机构 / 发文机关 / 发文单位 / 来源")
    published_date: dt.date | None = Field(None, description="发文时间 / 发布日期 / 发布时间")
    written_date: dt.date | None = Field(None, description="成文日期 / 印发日期")
    doc_no: str | None = Field(None, description="文号 / 发文字号 / 文件编号, as printed")
    disclosure: str | None = Field(None, description="公开方式 (主动公开, 依申请公开, ...)")
    validity: str | None = Field(None, description="有效性 / 时效性 (有效, 失效, 废止)")
    topic: str | None = Field(None, description="主题分类")
    index_no_parsed: IndexNumber | None = Field(None, description="索引号 split into its parts")
    doc_no_parsed: DocNumber | None = Field(None, description="文号 split into its parts")
    body_text: str = Field("", description="正文: main text only, paragraphs joined by newlines")
    sections: list[NoticeSection] = Field(default_factory=list, description="The body's outline tree")
    attachments: list[Attachment] = Field(default_factory=list, description="附件")
    cited_documents: list[CitedDocument] = Field(default_factory=list, description="《…》 references")
    integrity: Integrity = Field(default_factory=Integrity, description="Tampering evidence")
    entities: list[Entity] = Field(
        default_factory=list,
        description="实体: dates, organisations, 文号, laws, quantities and places in body_text (format 1.1)",
    )
    extras: dict[str, str] = Field(
        default_factory=dict, description="Other label/value pairs of the metadata"
    )
    field_sources: dict[str, str] = Field(
        default_factory=dict,
        description="For each field found, the strategy that found it (table, meta, ...)",
    )
    warnings: list[str] = Field(default_factory=list, description="What was odd about the page")
    source: Source


def record_json_schema() -> dict[str, Any]:
    """The published JSON Schema of :class:`NoticeRecord`."""
    schema = NoticeRecord.model_json_schema()
    schema["$id"] = "https://gov-notices.example/schemas/notice_record.v1.json"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
