"""Stage record: the stage outputs → one validated NoticeRecord. Pure, no I/O.

``extract_notice`` runs the offline path for one page — decode, clean, metadata,
sections, attachments, citations, integrity — and assembles the record. It raises a
``PipelineError`` subclass (DecodeError, SchemaValidationError …) for a page that cannot
become a record; odd but usable pages become records with ``warnings``.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import ValidationError

from pipeline.attachments import find_attachments
from pipeline.citations import find_citations
from pipeline.clean import strip_boilerplate
from pipeline.decode import decode_body
from pipeline.errors import ExtractionError, SchemaValidationError
from pipeline.integrity import check_integrity
from pipeline.metadata import extract_metadata
from pipeline.sections import split_sections
from pipeline.settings import Settings

if TYPE_CHECKING:
    from spacy.language import Language
from schemas.record import NoticeRecord, Source
from schemas.stages import FetchResult
from schemas.urls import web_url

_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no default port, no fragment; path and query kept. A URL with
    user info or an escape in its host is refused (schemas/urls.py): the id must name the host
    the bytes came from."""
    checked = web_url(url) if url.strip()[:6].lower().startswith(("http:", "https:")) else url
    if checked is None:
        raise ExtractionError(
            f"invalid page URL {url!r}: user info or escapes in its host", url=url, stage="record"
        )
    try:
        parts = urlsplit(checked.strip())
        port = parts.port
    except ValueError as exc:  # 'http://[::1', 'http://a:99999/'
        raise ExtractionError(f"invalid page URL {url!r}: {exc}", url=url, stage="record") from exc
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = port if port and port != _DEFAULT_PORTS.get(scheme) else None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


def ascii_url(url: str) -> str:
    """The URL as it goes on the wire: non-ASCII path/query percent-encoded (UTF-8), IDN host in
    punycode. Existing %-escapes are kept. Idempotent."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return quote(url, safe=_URL_SAFE)
    netloc = parts.netloc
    if host and not host.isascii():
        try:
            netloc = netloc.replace(host, host.encode("idna").decode("ascii"))
        except UnicodeError:
            netloc = quote(netloc, safe=_URL_SAFE)
    path = quote(parts.path, safe=_URL_SAFE)
    query = quote(parts.query, safe=_URL_SAFE)
    return urlunsplit((parts.scheme, netloc, path, query, quote(parts.fragment, safe=_URL_SAFE)))


def notice_id(url: str) -> str:
    """Stable record id: sha256 of the canonical URL, first 32 hex digits."""
    return hashlib.sha256(canonical_url(url).encode("utf-8")).hexdigest()[:32]


def extract_notice(
    fetched: FetchResult, settings: Settings | None = None, *, nlp: Language | None = None
) -> NoticeRecord:
    """One page's bytes → one validated record; with ``nlp`` (pipeline.entities.build_nlp, built
    once per worker) the record also gets its entities."""
    settings = settings or Settings()
    started = time.perf_counter()
    warnings: list[str] = []
    if len(fetched.body) > settings.max_html_bytes:
        warnings.append(
            f"page is {len(fetched.body):,} bytes; only the first {settings.max_html_bytes:,} were parsed"
        )
        sha = fetched.sha256
        fetched = fetched.model_copy(update={"body": fetched.body[: settings.max_html_bytes]})
    else:
        sha = fetched.sha256
    decoded = decode_body(fetched, detect_min_bytes=settings.detect_min_bytes)
    doc = strip_boilerplate(
        decoded, max_script_chars=settings.max_text_chars_scan, min_body_chars=settings.min_body_chars
    )
    meta = extract_metadata(doc)
    body_text = doc.body_text
    warnings += decoded.warnings + doc.warnings + meta.warnings
    url = fetched.final_url or fetched.url
    try:
        record = NoticeRecord(
            id=notice_id(url),
            url=canonical_url(url),
            title=meta.title,
            index_no=meta.index_no,
            publisher=meta.publisher,
            published_date=meta.published_date,
            written_date=meta.written_date,
            doc_no=meta.doc_no,
            disclosure=meta.disclosure,
            validity=meta.validity,
            topic=meta.topic,
            index_no_parsed=meta.index_no_parsed,
            doc_no_parsed=meta.doc_no_parsed,
            body_text=body_text,
            sections=split_sections(doc, title=meta.title),
            attachments=find_attachments(doc),
            cited_documents=find_citations(body_text),
            integrity=check_integrity(doc, meta),
            extras=meta.extras,
            field_sources=meta.field_sources,
            warnings=warnings,
            source=Source(
                url=url,
                content_type=decoded.content_type,
                encoding=decoded.encoding,
                encoding_source=decoded.encoding_source,
                sha256=sha,
                fetched_at=fetched.fetched_at,
                warc=fetched.warc,
            ),
        )
    except ValidationError as exc:
        raise SchemaValidationError(f"record does not fit schema v1: {exc}", url=url) from exc
    if nlp is None or not settings.entities:
        return record
    spent = time.perf_counter() - started
    if spent > settings.extract_budget_seconds:
        # a page of several MB: the record is complete without entities, and a batch must not stall
        note = (
            f"extraction took {spent:.1f} s, over the per-page budget of {settings.extract_budget_seconds:g} s: "
            "entities were not computed"
        )
        return record.model_copy(update={"warnings": [*record.warnings, note]})
    from pipeline.entities import find_entities  # spaCy only where entities are wanted

    return record.model_copy(update={"entities": find_entities(nlp, record)})
