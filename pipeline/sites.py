"""Site configurations: ``sites/*.yaml`` files → SiteConfig, or a site made from bare URLs."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from pydantic import ValidationError

from pipeline.errors import DiscoveryError
from schemas.site import SiteConfig

__all__ = ["load_site", "load_sites", "site_for_urls"]


def load_site(path: Path | str) -> SiteConfig:
    """Read and validate one site configuration file (YAML, safe loader)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DiscoveryError(f"cannot read site configuration {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise DiscoveryError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise DiscoveryError(f"{path} must be a mapping of settings, not {type(data).__name__}")
    data.setdefault("name", path.stem)
    try:
        return SiteConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'site'}: {e['msg']}" for e in exc.errors())
        raise DiscoveryError(f"{path}: {problems}") from exc


def load_sites(folder: Path | str) -> list[SiteConfig]:
    """Every ``*.yaml`` / ``*.yml`` in ``folder``, sorted by file name."""
    folder = Path(folder)
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    return [load_site(f) for f in files]


def site_for_urls(urls: list[str], *, allow_private_addresses: bool = False) -> SiteConfig:
    """A site made of bare start URLs: allowed hosts are the URLs' hosts."""
    if not urls:
        raise DiscoveryError("no start URLs given")
    try:
        host = urlsplit(urls[0]).hostname or "site"
    except ValueError as exc:
        raise DiscoveryError(f"not a valid URL: {urls[0]!r} ({exc})") from exc
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", host).strip("-.")[:64] or "site"
    try:
        return SiteConfig(name=name, start_urls=urls, allow_private_addresses=allow_private_addresses)
    except ValidationError as exc:
        raise DiscoveryError("; ".join(e["msg"] for e in exc.errors())) from exc
