"""The ``notices`` command line. Prints for people; the library underneath only logs.

``notices extract`` never imports Prefect (1.1 s) and builds its settings once per process.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pipeline.errors import PipelineError
from pipeline.record import extract_notice
from pipeline.settings import Settings
from schemas.record import METADATA_FIELDS, NoticeRecord, record_json_schema
from schemas.stages import FetchResult

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Chinese government notice pages → records."
)
err = Console(stderr=True)
log = logging.getLogger("pipeline.cli")


def _dump(record: NoticeRecord) -> str:
    return json.dumps(record.model_dump(mode="json"), ensure_ascii=False)


def extract_path(
    path: Path, *, url: str | None, content_type: str | None, settings: Settings
) -> NoticeRecord:
    """Read one page from disk and extract it."""
    body = path.read_bytes()
    page_url = url or path.resolve().as_uri()
    return extract_notice(
        FetchResult.from_file_bytes(body, url=page_url, content_type=content_type), settings
    )


def _failure(path: str, stage: str, message: str) -> dict[str, Any]:
    return {"path": path, "error": {"stage": stage, "message": message}}


def run_manifest(manifest: Path, out: Path, settings: Settings) -> list[dict[str, Any]]:
    """Extract every page a manifest lists; one output line per input line, same order."""
    rows: list[dict[str, Any]] = []
    tmp = out.with_name(out.name + ".part")
    base = manifest.resolve().parent
    with manifest.open(encoding="utf-8") as fh, tmp.open("w", encoding="utf-8") as sink:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            started = time.perf_counter()
            row: dict[str, Any] = {"line": lineno}
            try:
                entry = json.loads(raw)
                if not isinstance(entry, dict) or "path" not in entry:
                    raise ValueError('each manifest line must be an object with a "path"')
            except ValueError as exc:
                result = _failure("", "manifest", f"line {lineno}: {exc}")
            else:
                p = Path(str(entry["path"]))
                if not p.is_absolute() and not p.exists():
                    p = base / p
                try:
                    record = extract_path(
                        p, url=entry.get("url"), content_type=entry.get("content_type"), settings=settings
                    )
                except OSError as exc:
                    result = _failure(str(entry["path"]), "read", f"cannot read page: {exc.strerror or exc}")
                except PipelineError as exc:
                    result = _failure(str(entry["path"]), exc.stage, exc.message)
                except Exception as exc:  # a bug must not stop the batch; it is recorded with its reason
                    log.exception("unexpected error on %s", entry["path"])
                    result = _failure(
                        str(entry["path"]), "extract", f"internal error: {type(exc).__name__}: {exc}"
                    )
                else:
                    result = record.model_dump(mode="json")
                    row["record"] = record
                row["path"] = str(entry["path"])
            row["result"] = result
            row["seconds"] = time.perf_counter() - started
            sink.write(json.dumps(result, ensure_ascii=False) + "\n")
            rows.append(row)
    tmp.replace(out)
    return rows


def print_summary(rows: list[dict[str, Any]], out: Path) -> None:
    table = Table(title=f"{len(rows)} pages → {out}", show_lines=False)
    table.add_column("page")
    table.add_column("title", max_width=34, overflow="ellipsis", no_wrap=True)
    table.add_column("fields", justify="right")
    table.add_column("sections", justify="right")
    table.add_column("attach.", justify="right")
    table.add_column("integrity")
    table.add_column("warnings / error", max_width=40, overflow="ellipsis", no_wrap=True)
    failed = 0
    for row in rows:
        name = Path(row.get("path") or "?").stem
        rec: NoticeRecord | None = row.get("record")
        if rec is None:
            failed += 1
            e = row["result"]["error"]
            table.add_row(name, "-", "-", "-", "-", "-", f"[red]{e['stage']}: {e['message']}[/red]")
            continue
        n_fields = sum(1 for f in METADATA_FIELDS if getattr(rec, f) is not None)
        n_sections, stack = 0, list(rec.sections)
        while stack:
            s = stack.pop()
            n_sections += 1
            stack.extend(s.children)
        integ = "[yellow]suspect[/yellow]" if rec.integrity.status == "suspect" else "clean"
        table.add_row(
            name,
            rec.title or "",
            f"{n_fields}/9",
            str(n_sections),
            str(len(rec.attachments)),
            integ,
            "; ".join(rec.warnings),
        )
    err.print(table)
    total = sum(r["seconds"] for r in rows)
    err.print(
        f"{len(rows) - failed} records, {failed} failures, {total * 1000 / max(1, len(rows)):.1f} ms/page"
    )


@app.command()
def extract(
    page: Annotated[Path | None, typer.Argument(help="An HTML file as a server sent it")] = None,
    url: Annotated[
        str | None, typer.Option(help="The page's URL (resolves links; gives the record id)")
    ] = None,
    content_type: Annotated[
        str | None, typer.Option("--content-type", help="HTTP Content-Type as sent")
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option(help="JSON Lines: {path, url, content_type} per page")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Where --manifest writes its records (JSON Lines)")] = None,
    quiet: Annotated[bool, typer.Option(help="No summary table")] = False,
) -> None:
    """Extract one page (prints its record as JSON) or every page of a manifest."""
    settings = Settings()
    if manifest is not None:
        if page is not None:
            raise typer.BadParameter("give either PAGE or --manifest, not both")
        if not manifest.is_file():
            raise typer.BadParameter(f"no such manifest: {manifest}", param_hint="--manifest")
        target = out or manifest.with_suffix(".records.jsonl")
        rows = run_manifest(manifest, target, settings)
        if not quiet:
            print_summary(rows, target)
        return
    if page is None:
        raise typer.BadParameter("give a PAGE file or --manifest")
    if not page.is_file():
        raise typer.BadParameter(f"no such file: {page}", param_hint="PAGE")
    try:
        record = extract_path(page, url=url, content_type=content_type, settings=settings)
    except PipelineError as exc:
        err.print(f"[red]error[/red] ({exc.stage}): {exc.message}")
        raise typer.Exit(1) from exc
    sys.stdout.write(_dump(record) + "\n")


@app.command()
def schema() -> None:
    """Print the published JSON Schema of the record format."""
    sys.stdout.write(json.dumps(record_json_schema(), ensure_ascii=False, indent=2) + "\n")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Where the records go")] = Path("records.jsonl"),
) -> None:
    """Extract every fixture page (fixtures/manifest.jsonl) into records.jsonl; print a summary table."""
    manifest = Path(__file__).resolve().parent.parent / "fixtures" / "manifest.jsonl"
    if not manifest.is_file():
        raise typer.BadParameter(f"fixture manifest missing: {manifest}")
    rows = run_manifest(manifest, out, Settings())
    print_summary(rows, out)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
