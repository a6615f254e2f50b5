"""One error tree for the whole pipeline.

::

    PipelineError                 every error the library raises on purpose
    ├── FetchError                getting the bytes failed
    │   ├── TransientFetchError   timeout, connection error, 5xx, 429: worth a retry
    │   └── PermanentFetchError   404, 410, robots refusal, wrong content type, too large
    ├── DecodeError               the bytes are not a decodable HTML document (empty, PDF, binary)
    ├── DiscoveryError            a list page, sitemap or site configuration could not be read
    ├── ExtractionError           the HTML could not be turned into a notice
    ├── SchemaValidationError     the assembled record broke the published schema
    └── StoreError                the record store refused a read or write

Every error carries the ``url`` of the page (or None) and the ``stage`` that raised it,
so a failure can be recorded as data: ``{"stage": ..., "message": ...}``.
"""

from __future__ import annotations

__all__ = [
    "DecodeError",
    "DiscoveryError",
    "ExtractionError",
    "FetchError",
    "PermanentFetchError",
    "PipelineError",
    "SchemaValidationError",
    "StoreError",
    "TransientFetchError",
]


class PipelineError(Exception):
    """Base of every deliberate pipeline error."""

    stage: str = "pipeline"

    def __init__(self, message: str, *, url: str | None = None, stage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        if stage is not None:
            self.stage = stage

    def as_dict(self) -> dict[str, str]:
        """The failure as data, for manifests, run summaries and the store."""
        return {"stage": self.stage, "message": self.message}


class FetchError(PipelineError):
    stage = "fetch"


class TransientFetchError(FetchError):
    """A failure that may go away: retry with backoff."""


class PermanentFetchError(FetchError):
    """A failure that will not go away by retrying: record it."""


class DecodeError(PipelineError):
    stage = "decode"


class DiscoveryError(PipelineError):
    stage = "discover"


class ExtractionError(PipelineError):
    stage = "extract"


class SchemaValidationError(PipelineError):
    stage = "record"


class StoreError(PipelineError):
    stage = "store"
