"""The ``notices`` command line. Prints for people; the library underneath only logs.

``notices extract`` never imports Prefect (1.1 s) and builds its settings once per process;
the crawl commands import it (through ``flows``) only when they run.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.errors import PipelineError
from pipeline.present import citation_view, diff_records, record_view, results_table, suspects_table
from pipeline.record import extract_notice
from pipeline.settings import Settings
from pipeline.sites import load_site, load_sites, site_for_urls
from pipeline.siteserver import serve_site
from pipeline.store import SqliteStore
from schemas.crawl import CrawlSummary
from schemas.record import METADATA_FIELDS, NoticeRecord, record_json_schema
from schemas.search import SearchQuery
from schemas.site import SiteConfig
from schemas.stages import FetchResult

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Chinese government notice pages → records."
)
err = Console(stderr=True)
log = logging.getLogger("pipeline.cli")


def _dump(record: NoticeRecord) -> str:
    return json.dumps(record.model_dump(mode="json"), ensure_ascii=False)


def extract_path(
    path: Path, *, url: str | None, content_type: str | None, settings: Settings, nlp: Any = None
) -> NoticeRecord:
    """Read one page from disk and extract it (with entities when ``nlp`` is given)."""
    body = path.read_bytes()
    page_url = url or path.resolve().as_uri()
    return extract_notice(
        FetchResult.from_file_bytes(body, url=page_url, content_type=content_type), settings, nlp=nlp
    )


def _entity_nlp(settings: Settings) -> Any:
    """The spaCy entity pipeline, built once per command (None when entities are switched off)."""
    if not settings.entities:
        return None
    from pipeline.entities import build_nlp

    return build_nlp(settings)


def _failure(path: str, stage: str, message: str) -> dict[str, Any]:
    return {"path": path, "error": {"stage": stage, "message": message}}


def run_manifest(manifest: Path, out: Path, settings: Settings) -> list[dict[str, Any]]:
    """Extract every page a manifest lists; one output line per input line, same order."""
    rows: list[dict[str, Any]] = []
    nlp = _entity_nlp(settings)
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
                        p, url=entry.get("url"), content_type=entry.get("content_type"), settings=settings,
                        nlp=nlp,
                    )  # fmt: skip
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
        record = extract_path(
            page, url=url, content_type=content_type, settings=settings, nlp=_entity_nlp(settings)
        )
    except PipelineError as exc:
        err.print(f"[red]error[/red] ({exc.stage}): {escape(exc.message)}")
        raise typer.Exit(1) from exc
    sys.stdout.write(_dump(record) + "\n")


@app.command()
def schema() -> None:
    """Print the published JSON Schema of the record format."""
    sys.stdout.write(json.dumps(record_json_schema(), ensure_ascii=False, indent=2) + "\n")


def _prefect_env() -> None:
    """What every Prefect-running command sets before Prefect is imported."""
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def _data_paths(db: Path | None, archive: Path | None, settings: Settings) -> tuple[Path, Path]:
    home = Path(settings.data_dir)
    return db or home / "notices.sqlite", archive or home / "warc"


def crawl_with_progress(
    site: SiteConfig,
    *,
    db: Path,
    archive: Path,
    delay: float | None,
    refresh: bool,
    max_pages: int | None,
    quiet: bool,
) -> CrawlSummary:
    """Run the crawl flow with a progress display on stderr."""
    _prefect_env()
    from flows.run import run_crawl

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:>6}"),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
        transient=True,
    ) as bar:
        counters = {
            "found": bar.add_task("links found", total=None),
            "fetched": bar.add_task("pages fetched", total=None),
            "extracted": bar.add_task("records made", total=None),
        }

        def hook(event: str, n: int) -> None:
            if event in counters:
                bar.advance(counters[event], n)

        return run_crawl(
            site, db=db, archive=archive, delay=delay, refresh=refresh, max_pages=max_pages, progress=hook
        )


def print_crawl_summary(summary: CrawlSummary) -> None:
    table = Table(title=f"crawl of {summary.site}", show_header=False)
    table.add_column("what")
    table.add_column("n", justify="right")
    for label, value in summary.rows():
        table.add_row(label, value)
    err.print(table)
    err.print(f"records: {summary.db}\narchive: {summary.archive}")


@app.command()
def crawl(
    targets: Annotated[list[str], typer.Argument(help="A site configuration (sites/*.yaml) or start URLs")],
    db: Annotated[Path | None, typer.Option(help="Crawl database (default: data/notices.sqlite)")] = None,
    archive: Annotated[Path | None, typer.Option(help="WARC folder (default: data/warc)")] = None,
    max_pages: Annotated[int | None, typer.Option(min=1, help="Fetch at most this many notices")] = None,
    delay: Annotated[float | None, typer.Option(min=0, help="Seconds between requests to a host")] = None,
    allow_private_addresses: Annotated[
        bool, typer.Option(help="Let the crawl reach loopback/private addresses (e.g. 127.0.0.1)")
    ] = False,
    refresh: Annotated[bool, typer.Option(help="Re-check every known notice now (conditional GET)")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Also print the run summary as JSON on stdout")
    ] = False,
) -> None:
    """Crawl a site: discover notices, fetch politely, archive to WARC, extract and store records.

    Running the same command again on the same --db/--archive continues or refreshes that crawl.
    Exits 0 when the crawl ran to the end, even if pages failed (they are recorded with reasons).
    """
    settings = Settings()
    try:
        if len(targets) == 1 and targets[0].endswith((".yaml", ".yml")):
            site = load_site(targets[0])
            if allow_private_addresses:
                site = site.model_copy(update={"allow_private_addresses": True})
        else:
            site = site_for_urls(targets, allow_private_addresses=allow_private_addresses)
    except PipelineError as exc:
        err.print(f"[red]error[/red]: {escape(exc.message)}")
        raise typer.Exit(2) from exc
    db_path, archive_path = _data_paths(db, archive, settings)
    try:
        summary = crawl_with_progress(
            site,
            db=db_path,
            archive=archive_path,
            delay=delay,
            refresh=refresh,
            max_pages=max_pages,
            quiet=quiet,
        )
    except PipelineError as exc:
        err.print(f"[red]error[/red] ({exc.stage}): {escape(exc.message)}")
        raise typer.Exit(1) from exc
    print_crawl_summary(summary)
    if as_json:
        sys.stdout.write(summary.model_dump_json() + "\n")


@app.command("serve-schedules")
def serve_schedules(
    sites: Annotated[Path, typer.Argument(help="Folder of site configurations")] = Path("sites"),
    db: Annotated[Path | None, typer.Option(help="Crawl database (default: data/notices.sqlite)")] = None,
    archive: Annotated[Path | None, typer.Option(help="WARC folder (default: data/warc)")] = None,
) -> None:
    """Serve a scheduled crawl deployment per site with a `schedule`, against a Prefect server."""
    settings = Settings()
    db_path, archive_path = _data_paths(db, archive, settings)
    _prefect_env()
    from flows.schedules import serve_schedules as serve

    try:
        configs = load_sites(sites)
        for site in configs:
            err.print(f"{site.name}: {site.schedule or '(no schedule)'}  {', '.join(site.start_urls)}")
        serve(configs, db=str(db_path.resolve()), archive=str(archive_path.resolve()))
    except PipelineError as exc:
        err.print(f"[red]error[/red]: {escape(exc.message)}")
        raise typer.Exit(2) from exc


@app.command("serve-site")
def serve_site_command(
    root: Annotated[
        Path | None, typer.Argument(help="Folder to serve (default: the fixture mini site)")
    ] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 8000,
) -> None:
    """Serve a site folder on 127.0.0.1 (the fixture site by default) until interrupted."""
    import time

    types: dict[str, str] = {}
    if root is None:
        root, types, _ = _fixture_site()
    if not root.is_dir():
        raise typer.BadParameter(f"no such folder: {root}")
    with serve_site(root, port=port, content_types=types, replace={"http://127.0.0.1:8000": "{base}"}) as srv:
        err.print(f"serving {root} at {srv.base_url} (Ctrl-C stops)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


DbOption = Annotated[Path | None, typer.Option(help="Crawl database (default: data/notices.sqlite)")]


def _open_readonly(db: Path | None) -> SqliteStore:
    path = db or Path(Settings().data_dir) / "notices.sqlite"
    try:
        return SqliteStore.open_for_reading(path)
    except PipelineError as exc:
        err.print(f"[red]error[/red]: {escape(exc.message)}")
        raise typer.Exit(2) from exc


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="Words to find (any Chinese substring)")] = None,
    db: DbOption = None,
    publisher: Annotated[str | None, typer.Option(help="发布机构 contains")] = None,
    since: Annotated[str | None, typer.Option(help="Published on or after (YYYY-MM-DD)")] = None,
    until: Annotated[str | None, typer.Option(help="Published on or before (YYYY-MM-DD)")] = None,
    validity: Annotated[str | None, typer.Option(help="有效 | 失效 | 废止")] = None,
    doc_no: Annotated[str | None, typer.Option(help="文号 contains")] = None,
    index_no: Annotated[str | None, typer.Option(help="索引号 contains")] = None,
    topic: Annotated[str | None, typer.Option(help="主题分类 contains")] = None,
    kind: Annotated[str | None, typer.Option(help="Has a section of this kind (outcomes, tasks, …)")] = None,
    integrity: Annotated[str | None, typer.Option(help="clean | suspect")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
    cursor: Annotated[
        str | None, typer.Option(help="Next page: the cursor printed by the previous search")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result page as JSON")] = False,
) -> None:
    """Search the stored notices: full text (any Chinese substring) and filters, newest first."""
    from pydantic import ValidationError

    try:
        q = SearchQuery.model_validate(
            {
                "q": query,
                "publisher": publisher,
                "since": since,
                "until": until,
                "validity": validity,
                "doc_no": doc_no,
                "index_no": index_no,
                "topic": topic,
                "kind": kind,
                "integrity": integrity,
                "limit": limit,
                "cursor": cursor,
            }
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"--{'.'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']}" for e in exc.errors()
        )
        err.print(f"[red]error[/red]: {escape(problems)}")
        raise typer.Exit(2) from exc
    with _open_readonly(db) as store:
        try:
            page = store.search(q)
        except PipelineError as exc:
            err.print(f"[red]error[/red]: {escape(exc.message)}")
            raise typer.Exit(2) from exc
    if as_json:
        sys.stdout.write(page.model_dump_json() + "\n")
        return
    out = Console()
    if not page.items:
        out.print("no notices found")
        return
    out.print(results_table(page))
    if page.next_cursor:
        out.print(f"more: --cursor {page.next_cursor}")


@app.command()
def show(
    key: Annotated[str, typer.Argument(help="Notice id (or a unique prefix of 8+ characters) or URL")],
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the record as JSON")] = False,
) -> None:
    """One notice: metadata, sections as an outline, provenance and version history."""
    with _open_readonly(db) as store:
        try:
            record = store.find(key)
            versions = store.versions(record.id) if record else []
        except PipelineError as exc:
            err.print(f"[red]error[/red]: {escape(exc.message)}")
            raise typer.Exit(2) from exc
        if record is None:
            err.print(f"[red]error[/red]: no notice {escape(repr(key))}")
            raise typer.Exit(1)
        cites, cited_by = store.citations(record.id)
    if as_json:
        sys.stdout.write(_dump(record) + "\n")
        return
    out = Console()
    out.rule(record.title or record.url)
    out.print(record_view(record, versions))
    out.print(citation_view(cites, cited_by))


@app.command()
def diff(
    key: Annotated[str, typer.Argument(help="Notice id, unique id prefix or URL")],
    db: DbOption = None,
    old: Annotated[
        int | None, typer.Option("--from", help="Older version (default: the one before --to)")
    ] = None,
    new: Annotated[int | None, typer.Option("--to", help="Newer version (default: the current one)")] = None,
) -> None:
    """What changed between two versions of a notice."""
    with _open_readonly(db) as store:
        try:
            record = store.find(key)
            if record is None:
                err.print(f"[red]error[/red]: no notice {escape(repr(key))}")
                raise typer.Exit(1)
            versions = [v.version for v in store.versions(record.id)]
            to = versions[-1] if new is None else new
            frm = to - 1 if old is None else old
            if frm < 1 and old is None:
                Console().print(f"{record.id} has only version {to}: nothing to compare")
                return
            a, b = store.version_record(record.id, frm), store.version_record(record.id, to)
        except PipelineError as exc:
            err.print(f"[red]error[/red]: {escape(exc.message)}")
            raise typer.Exit(2) from exc
    if a is None or b is None:
        err.print(f"[red]error[/red]: versions are {versions}")
        raise typer.Exit(1)
    lines = diff_records(a, b, old_label=f"v{frm}", new_label=f"v{to}")
    sys.stdout.write(("\n".join(lines) if lines else f"v{frm} and v{to} say the same") + "\n")


@app.command()
def serve(
    db: Annotated[Path | None, typer.Option(help="Crawl database (default: data/notices.sqlite)")] = None,
    archive: Annotated[
        Path | None,
        typer.Option(help="WARC folder for raw downloads (default: the one the last crawl recorded)"),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port")] = 8000,
) -> None:
    """Serve the read-only search API (/notices, /openapi.json) and the HTML search page (/)."""
    from pipeline.api import serve as serve_api  # FastAPI/uvicorn only for this command

    db_path = db or Path(Settings().data_dir) / "notices.sqlite"
    err.print(f"serving {db_path} at http://{host}:{port}/  (API: /notices, /openapi.json; Ctrl-C stops)")
    try:
        serve_api(db_path, archive, host=host, port=port)
    except PipelineError as exc:
        err.print(f"[red]error[/red]: {escape(exc.message)}")
        raise typer.Exit(2) from exc


@app.command("export")
def export_command(
    db: Annotated[Path | None, typer.Option(help="Crawl database (default: data/notices.sqlite)")] = None,
    out: Annotated[Path | None, typer.Option(help="Export folder (default: data/export)")] = None,
    since: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Export what changed after this cursor; 0 = everything (default: after the previous export into --out)",
        ),
    ] = None,
    formats: Annotated[
        str, typer.Option("--format", help="Comma-separated: jsonl,csv,parquet")
    ] = "jsonl,csv,parquet",
    include_suspect: Annotated[
        bool, typer.Option(help="Also export records that look tampered with")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the export summary as JSON on stdout")
    ] = False,
) -> None:
    """Export new and changed records: JSON Lines, CSV, Parquet, an Atom feed and a Data Package.

    Prints a summary on stderr and the new cursor on stdout (the summary as JSON with --json).
    Each export is a folder under OUT/exports/; OUT/latest points at the newest complete one.
    """
    from pipeline.export import FORMATS, export_feed  # pyarrow/jsonschema only for this command

    wanted = {f.strip() for f in formats.split(",") if f.strip()}
    if not wanted or wanted - set(FORMATS):
        raise typer.BadParameter(f"choose from {', '.join(FORMATS)}", param_hint="--format")
    settings = Settings()
    db_path = _data_paths(db, None, settings)[0]
    try:
        summary = export_feed(
            db_path,
            out or Path(settings.data_dir) / "export",
            formats=[f for f in FORMATS if f in wanted],
            since=since,
            include_suspect=include_suspect,
        )
    except PipelineError as exc:  # missing/corrupt/old database, bad cursor, another export running
        err.print(f"[red]error[/red] ({exc.stage}): {escape(exc.message)}")
        raise typer.Exit(2) from exc
    except OSError as exc:  # the output folder: permissions, disk full
        err.print(f"[red]error[/red]: cannot write the export: {escape(str(exc))}")
        raise typer.Exit(1) from exc
    table = Table(title="export", show_header=False)
    table.add_column("what")
    table.add_column("n", justify="right")
    for label, value in summary.rows():
        table.add_row(label, value)
    rows = summary.notices + summary.sections
    table.add_row("rows/s", f"{rows / summary.seconds:,.0f}" if summary.seconds and rows else "-")
    err.print(table)
    if summary.rejected:
        err.print(f"[yellow]{len(summary.rejected)} records broke the JSON Schema and were left out[/yellow]")
    err.print(f"next: notices export --since {summary.cursor_to}")
    sys.stdout.write((summary.model_dump_json() if as_json else str(summary.cursor_to)) + "\n")


@app.command()
def review(
    db: DbOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Also list suspect notices already released")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON")] = False,
) -> None:
    """Notices flagged as tampered with, with their evidence: held out of exports until released."""
    with _open_readonly(db) as store:
        rows = store.suspects(include_released=all_)
    if as_json:
        out_rows = [
            {k: v for k, v in r.items() if k != "record_json"}
            | {"integrity": json.loads(r["record_json"])["integrity"]}
            for r in rows
        ]
        sys.stdout.write(json.dumps(out_rows, ensure_ascii=False) + "\n")
        return
    if not rows:
        Console().print("no suspect notices waiting for review")
        return
    Console().print(suspects_table(rows))
    err.print("release one for export with: notices release <id> [--note TEXT]")


@app.command()
def release(
    key: Annotated[str, typer.Argument(help="Notice id, unique id prefix or URL")],
    db: DbOption = None,
    note: Annotated[str | None, typer.Option(help="Why it may be published (kept with the release)")] = None,
) -> None:
    """Vouch for a suspect notice's current record so that exports include it."""
    path = db or Path(Settings().data_dir) / "notices.sqlite"
    if not path.is_file():
        err.print(f"[red]error[/red]: no database at {escape(str(path))}")
        raise typer.Exit(2)
    try:
        with SqliteStore(path) as store:
            record = store.find(key)
            if record is None:
                err.print(f"[red]error[/red]: no notice {escape(repr(key))}")
                raise typer.Exit(1)
            released = store.release(record.id, note)
    except PipelineError as exc:
        err.print(f"[red]error[/red]: {escape(exc.message)}")
        raise typer.Exit(2) from exc
    if not released:
        Console().print(f"{record.id} is not flagged: nothing to release")
        return
    Console().print(
        f"released {record.id} ({escape(record.title or record.url)}): the next export includes it"
    )


@app.command()
def reprocess(
    archive: Annotated[
        str, typer.Option(help="WARC folder (the crawl's --archive) or an fsspec URL of one (s3://…)")
    ],
    db: DbOption = None,
    since: Annotated[str | None, typer.Option(help="Only responses fetched on or after (YYYY-MM-DD)")] = None,
    workers: Annotated[int, typer.Option(min=0, help="Worker processes (0: in this process)")] = 2,
    chunk_size: Annotated[
        int | None,
        typer.Option(min=1, help="Pages per chunk, one task each (default: from the archive's size, ≤ 500)"),
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(help="Run the chunks on this Dask scheduler (tcp://host:8786); needs PREFECT_API_URL"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout")] = False,
) -> None:
    """Re-extract every archived notice with the current extractor; store only what changed."""
    import datetime as dt

    from pipeline.reprocess import reprocess as run

    settings = Settings()
    path = db or Path(settings.data_dir) / "notices.sqlite"
    try:
        start = dt.datetime.fromisoformat(since).replace(tzinfo=dt.UTC) if since else None
    except ValueError as exc:
        raise typer.BadParameter(f"not a date: {since}", param_hint="--since") from exc
    from pipeline.archive import is_url

    if not is_url(archive) and not Path(archive).is_dir():
        err.print(f"[red]error[/red]: no archive folder {escape(archive)}")
        raise typer.Exit(2)
    try:
        if dask:
            if not os.environ.get("PREFECT_API_URL"):
                err.print("[red]error[/red]: --dask needs a Prefect server: export PREFECT_API_URL")
                raise typer.Exit(2)
            _prefect_env()
            from flows.reprocess import run_on_dask

            summary = run_on_dask(archive, str(path), dask, chunk_size=chunk_size, since=start)
        else:
            with SqliteStore(path) as store:
                summary = run(archive, store, settings, workers=workers, chunk_size=chunk_size, since=start)
    except PipelineError as exc:
        err.print(f"[red]error[/red]: {escape(exc.message)}")
        raise typer.Exit(2) from exc
    table = Table(title="reprocess", show_header=False)
    table.add_column("what")
    table.add_column("n", justify="right")
    for label, value in summary.rows():
        table.add_row(label, value)
    err.print(table)
    if as_json:
        sys.stdout.write(summary.model_dump_json() + "\n")


def _fixture_site() -> tuple[Path, dict[str, str], str]:
    """The mini site: folder, Content-Type per path (as its real servers sent), start path."""
    root = Path(__file__).resolve().parent.parent / "fixtures" / "corpus" / "site"
    manifest = json.loads((root / "MANIFEST.json").read_text(encoding="utf-8"))
    types = {
        path: n["content_type_header"]
        for path, n in manifest["notices"].items()
        if n.get("content_type_header")
    }
    return root, types, manifest["start_url"]


@app.command()
def demo(
    data: Annotated[Path, typer.Option(help="Where the demo's database, WARC files and records go")] = Path(
        "data/demo"
    ),
    quiet: Annotated[bool, typer.Option(help="No progress bar")] = False,
) -> None:
    """Serve the fixture site on 127.0.0.1, crawl it with the real flow, print the summary."""
    root, types, start = _fixture_site()
    replace = {"http://127.0.0.1:8000": "{base}"}
    try:
        server = serve_site(root, port=8000, content_types=types, replace=replace)
        site_server = server.__enter__()
    except OSError:  # port 8000 taken: any free port, absolute URLs rewritten to it
        server = serve_site(root, port=0, content_types=types, replace=replace)
        site_server = server.__enter__()
    try:
        err.print(f"serving {root} at {site_server.base_url}")
        site = SiteConfig(
            name="demo",
            start_urls=[site_server.base_url + start],
            allow_private_addresses=True,
            politeness={"min_delay": 0.05},
            recheck_days=0,
        )
        summary = crawl_with_progress(
            site, db=data / "notices.sqlite", archive=data / "warc", delay=None, refresh=False, max_pages=None,
            quiet=quiet,
        )  # fmt: skip
    finally:
        server.__exit__(None, None, None)
    print_crawl_summary(summary)
    out = data / "records.jsonl"
    with SqliteStore(data / "notices.sqlite") as store, out.open("w", encoding="utf-8") as fh:
        for record in store.records(site.name):
            fh.write(_dump(record) + "\n")
    err.print(f"records as JSON Lines: {out.resolve()}")
    db_arg = data / "notices.sqlite"
    err.print(
        "\nnext:\n"
        f"  .venv/bin/notices search 政府开放日 --db {db_arg}          # full text, any Chinese substring\n"
        f"  .venv/bin/notices search --kind outcomes --since 2023-01-01 --db {db_arg}\n"
        f"  .venv/bin/notices show <id> --db {db_arg}                  # outline, provenance, versions\n"
        f"  .venv/bin/notices serve --db {db_arg} --archive {data / 'warc'}   # http://127.0.0.1:8000/\n"
        f"  .venv/bin/notices review --db {db_arg}                     # pages that look hacked",
        soft_wrap=True,
    )


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
