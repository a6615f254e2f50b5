"""gov-notices: Chinese government notice pages → validated, searchable, publishable records.

One module per stage: decode → clean → metadata / sections / attachments / citations /
integrity → record. Only fetch, store and export do I/O.
"""

from pipeline.attachments import find_attachments
from pipeline.citations import find_citations
from pipeline.clean import strip_boilerplate
from pipeline.decode import decode_body
from pipeline.errors import (
    DecodeError,
    ExtractionError,
    FetchError,
    PermanentFetchError,
    PipelineError,
    SchemaValidationError,
    StoreError,
    TransientFetchError,
)
from pipeline.integrity import check_integrity
from pipeline.metadata import extract_metadata
from pipeline.record import canonical_url, extract_notice, notice_id
from pipeline.sections import split_sections
from pipeline.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "DecodeError",
    "ExtractionError",
    "FetchError",
    "PermanentFetchError",
    "PipelineError",
    "SchemaValidationError",
    "Settings",
    "StoreError",
    "TransientFetchError",
    "canonical_url",
    "check_integrity",
    "decode_body",
    "extract_metadata",
    "extract_notice",
    "find_attachments",
    "find_citations",
    "notice_id",
    "split_sections",
    "strip_boilerplate",
]
