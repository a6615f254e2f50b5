"""Patterns and vocabularies as data (TOML files beside this module).

``load(name)`` reads ``name.toml`` once per process; ``regex(name, key)`` compiles a list of
alternatives from it. Stages keep no literal vocabularies in code.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["load", "patterns_hash", "regex"]


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed TOML pattern file ``pipeline/patterns/<name>.toml``."""
    text = resources.files(__package__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def regex(name: str, key: str, flags: int = 0) -> re.Pattern[str]:
    """Alternatives listed under ``key`` (dotted path) in ``name.toml``, compiled as one regex."""
    node: Any = load(name)
    for part in key.split("."):
        node = node[part]
    return re.compile("|".join(f"(?:{p})" for p in node), flags)


@cache
def patterns_hash() -> str:
    """sha256 over every pattern file: part of the extractor version stamped on records."""
    h = hashlib.sha256()
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            h.update(entry.name.encode())
            h.update(entry.read_bytes())
    return h.hexdigest()[:16]
