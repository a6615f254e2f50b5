"""The one settings object. Built once at an entry point (CLI, flow) and passed down.

Every field can be set from the environment with the ``NOTICES_`` prefix, e.g.
``NOTICES_MAX_HTML_BYTES=1000000``. Nothing here is read at import time.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration for every stage of the pipeline."""

    model_config = SettingsConfigDict(env_prefix="NOTICES_", extra="ignore")

    max_html_bytes: int = Field(
        8 * 1024 * 1024,
        description="Pages larger than this are cut to this many bytes before parsing (with a warning).",
        gt=0,
    )
    max_text_chars_scan: int = Field(
        400_000,
        description="Script text scanned for inline JSON article content is capped at this many characters.",
        gt=0,
    )
    min_body_chars: int = Field(
        20,
        description="Main text shorter than this is treated as 'no main text found' (a warning on the record).",
        ge=0,
    )
    detect_min_bytes: int = Field(
        64,
        description="Below this many bytes, charset detection is not attempted (too little evidence).",
        ge=0,
    )
