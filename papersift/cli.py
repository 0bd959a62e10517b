"""The `papersift` command: a thin face over the service layer (parse flags, call, print)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from papersift.config import Settings

if TYPE_CHECKING:
    from papersift.service.catalog import Catalog


def _settings(ctx: click.Context) -> Settings:
    obj: dict[str, Any] = ctx.ensure_object(dict)
    kwargs: dict[str, Any] = {}
    if obj.get("data_dir"):
        kwargs["data_dir"] = Path(obj["data_dir"])
    if obj.get("db"):
        kwargs["db_url"] = obj["db"]
    if obj.get("encoder"):
        kwargs["encoder"] = obj["encoder"]
    return Settings(**kwargs)


def _catalog(ctx: click.Context) -> Catalog:
    from papersift.service.catalog import Catalog

    return Catalog(_settings(ctx))


class _Bars:
    """tqdm bars per stage (ingest, keyword index, embedding) with rates and ETA."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            unit = "papers" if stage != "ingest" else "records"
            bar = self.bars[stage] = tqdm(
                total=total or None, desc=stage, unit=f" {unit}", file=sys.stderr, leave=True
            )
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)
        if total and done >= total:
            bar.close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.group()
@click.option("--data-dir", type=click.Path(file_okay=False), help="where papersift keeps its data")
@click.option("--db", help="SQLAlchemy database URL (default: SQLite in the data dir)")
@click.option(
    "--encoder",
    help="minilm-onnx (default), static-minilm (fast CPU) or st:<model> (torch extra); "
    "each has its own vectors",
)
@click.version_option(package_name="papersift")
@click.pass_context
def main(ctx: click.Context, data_dir: str | None, db: str | None, encoder: str | None) -> None:
    """papersift: find research papers by keyword and by meaning."""
    ctx.ensure_object(dict).update(data_dir=data_dir, db=db, encoder=encoder)


def _parse_map(values: tuple[str, ...]) -> dict[str, str] | None:
    mapping = {}
    for v in values:
        field, sep, column = v.partition("=")
        if not sep or not field or not column:
            raise click.BadParameter(f"{v!r}: use FIELD=COLUMN, e.g. abstract=summaries")
        mapping[field.strip()] = column.strip()
    return mapping or None


def _network_items(source: str, opts: dict[str, Any], data_dir: Path) -> Iterator[Any]:
    import httpx

    client = httpx.Client(timeout=60, headers={"User-Agent": "papersift (+self-hosted)"})
    if source == "arxiv-api":
        from papersift.ingest import arxiv_api

        q = arxiv_api.build_query(
            list(opts["category"]) or None, opts["date_from"], opts["date_to"], opts["query"]
        )
        yield from arxiv_api.fetch(q, client=client, max_results=opts["max"])
        return
    from papersift.ingest import arxiv_oai

    token_file = data_dir / "oai-resumption-token.txt"
    token = token_file.read_text().strip() if opts["resume"] and token_file.exists() else None
    yield from arxiv_oai.harvest(
        client=client,
        metadata_prefix=opts["prefix"],
        set_spec=opts["set_spec"],
        date_from=opts["date_from"],
        date_until=opts["date_to"],
        resumption_token=token,
        on_token=lambda t: _save_token(token_file, t),
    )
    token_file.unlink(missing_ok=True)


def _save_token(path: Path, token: str) -> None:
    """Persist the OAI resumption token so `--resume` continues an interrupted harvest."""
    path.write_text(token)


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a YYYY-MM-DD date") from None


@main.command()
@click.argument("source")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--map", "maps", multiple=True, help="FIELD=COLUMN for csv/jsonl (repeatable)")
@click.option("--no-embed", is_flag=True, help="skip embedding now (run `papersift embed` later)")
@click.option("--category", multiple=True, help="arxiv-api: category (repeatable)")
@click.option("--from", "date_from", help="arxiv-api/oai: first date YYYY-MM-DD")
@click.option("--to", "date_to", help="arxiv-api/oai: last date YYYY-MM-DD")
@click.option("--query", help="arxiv-api: extra search_query text")
@click.option("--max", "max_results", type=int, help="arxiv-api: stop after this many")
@click.option("--set", "set_spec", help="arxiv-oai: OAI set, e.g. cs")
@click.option("--prefix", default="arXiv", help="arxiv-oai: arXiv or arXivRaw")
@click.option("--resume", is_flag=True, help="arxiv-oai: continue from the saved token")
@click.option("--quiet", is_flag=True)
@click.pass_context
def ingest(
    ctx: click.Context,
    source: str,
    paths: tuple[str, ...],
    maps: tuple[str, ...],
    no_embed: bool,
    category: tuple[str, ...],
    date_from: str | None,
    date_to: str | None,
    query: str | None,
    max_results: int | None,
    set_spec: str | None,
    prefix: str,
    resume: bool,
    quiet: bool,
) -> None:
    """Load papers from SOURCE (arxiv-snapshot, hf-daily, csv, jsonl, listing-page, arxiv-api,
    arxiv-oai). Re-ingesting updates in place; bad records are reported and skipped."""
    from papersift.ingest.sources import FILE_SOURCES, NETWORK_SOURCES, parse_file
    from papersift.service.ingesting import ingest as run_ingest

    if source not in FILE_SOURCES and source not in NETWORK_SOURCES:
        _fail(f"unknown source {source!r}; known: {', '.join([*FILE_SOURCES, *NETWORK_SOURCES])}")
    if source in FILE_SOURCES and not paths:
        _fail(f"{source} needs at least one file path")
    catalog = _catalog(ctx)
    bars = _Bars(not quiet)
    jobs: list[tuple[str, Callable[[], Iterator[Any]]]] = []
    if source in FILE_SOURCES:
        mapping = _parse_map(maps)
        for path in paths:
            opts = {"mapping": mapping} if source in ("csv", "jsonl") else {}
            jobs.append((path, partial(parse_file, source, Path(path), **opts)))
    else:
        net = dict(
            category=category,
            date_from=_date(date_from),
            date_to=_date(date_to),
            query=query,
            max=max_results,
            set_spec=set_spec,
            prefix=prefix,
            resume=resume,
        )
        jobs.append((source, lambda: _network_items(source, net, catalog.settings.data_dir)))
    try:
        for location, make in jobs:
            report = run_ingest(
                catalog, make(), source=source, location=location, embed=not no_embed, progress=bars
            )
            bars.close()
            bars.bars.clear()
            click.echo(
                f"{location}: read {report.read}, new {report.inserted}, updated {report.updated}, "
                f"unchanged {report.unchanged}, problems {report.problems}, "
                f"embedded {report.embedded} in {report.seconds:.1f}s ({report.rate:.0f} records/s)"
            )
            for p in report.first_problems[:10]:
                click.echo(f"  skipped {p.where}: {p.message}", err=True)
    except (ValueError, OSError, RuntimeError) as exc:
        _fail(str(exc))
    finally:
        catalog.close()


def _print_hits(hits: list[Any], as_json: bool, payload: Any) -> None:
    if as_json:
        click.echo(payload.model_dump_json(indent=2))
        return
    import html
    import re

    for i, h in enumerate(hits, 1):
        p = h.paper
        year = p.published.year if p.published else "----"
        code = "  [code]" if p.code_urls else ""
        click.echo(f"{i:>2}. {p.title}  ({year}){code}")
        authors = ", ".join(p.authors[:4]) + (" et al." if len(p.authors) > 4 else "")
        why = []
        if h.why.matched_terms:
            why.append("terms: " + ", ".join(h.why.matched_terms[:6]))
        if h.why.similarity is not None:
            why.append(f"similarity {h.why.similarity:.2f}")
        why.append("found by " + "+".join(f"{e.retriever}#{e.rank}" for e in h.why.found_by))
        click.echo(f"    {p.id}  {authors}")
        click.echo(f"    {'; '.join(why)}")
        text = re.sub(r"</?mark>", "*", h.snippet_html)
        click.echo(f"    {html.unescape(text)[:300]}")


@main.command()
@click.argument("query")
@click.option("--mode", type=click.Choice(["hybrid", "keyword", "semantic"]))
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance")
@click.option("-n", "--limit", default=10, show_default=True)
@click.option("--page", default=1)
@click.option("--json", "as_json", is_flag=True, help="print the API's JSON")
@click.pass_context
def search(
    ctx: click.Context,
    query: str,
    mode: str | None,
    sort: str,
    limit: int,
    page: int,
    as_json: bool,
) -> None:
    """Search papers. QUERY may use "phrases", author:, cat:, year:2019..2021, has:code."""
    settings = _settings(ctx)
    pending = None
    if (mode or settings.default_mode) != "keyword":
        # Cold start: load the model on another core while the store and indexes open.
        from papersift.embed.encoder import load_encoder_in_background

        pending = load_encoder_in_background(settings.encoder)
    from papersift.index.query import QueryError
    from papersift.service import searching

    catalog = _catalog(ctx)
    if pending is not None:
        catalog.preload_encoder(pending)
    try:
        out = searching.search(catalog, query, mode=mode, page=page, page_size=limit, sort=sort)  # type: ignore[arg-type]
    except QueryError as exc:
        _fail(str(exc))
    if not as_json:
        click.echo(f"{out.total} results ({out.mode}, {out.took_ms:.0f} ms)")
        if out.notice:
            click.echo(f"note: {out.notice}", err=True)
    _print_hits(out.hits, as_json, out)
    if pending is not None:
        pending.exception()  # a load the search did not need still ends before the process


@main.command()
@click.argument("paper_ids", nargs=-1)
@click.option("--text", help="find papers similar to this text instead (search by example)")
@click.option("-n", "--limit", default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def similar(
    ctx: click.Context, paper_ids: tuple[str, ...], text: str | None, limit: int, as_json: bool
) -> None:
    """Papers similar to one paper, to a set of papers, or to pasted --text."""
    from papersift.service import searching

    catalog = _catalog(ctx)
    try:
        if text:
            out = searching.similar_to_text(catalog, text, k=limit)
        else:
            out = searching.similar(catalog, list(paper_ids), k=limit)
    except (searching.NotFound, ValueError) as exc:
        _fail(str(exc))
    _print_hits(out.hits, as_json, out)


@main.command()
@click.argument("paper_id")
@click.pass_context
def show(ctx: click.Context, paper_id: str) -> None:
    """Print one paper as JSON."""
    from papersift.service import searching

    try:
        click.echo(searching.get(_catalog(ctx), paper_id).model_dump_json(indent=2))
    except searching.NotFound as exc:
        _fail(str(exc))


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """What is in the catalogue and its indexes."""
    from papersift.service import searching

    out = searching.stats(_catalog(ctx))
    if as_json:
        click.echo(out.model_dump_json(indent=2))
        return
    click.echo(f"papers          {out.papers}")
    click.echo(f"  with abstract {out.with_abstract}")
    click.echo(f"  with code     {out.with_code}")
    click.echo(f"embedded        {out.embedded} ({out.model_id})")
    click.echo(f"keyword index   {out.keyword_docs} docs")
    click.echo(f"vector index    {out.vector_docs} vectors")
    click.echo("sources         " + ", ".join(f"{k} {v}" for k, v in out.sources.items()))
    click.echo("categories      " + ", ".join(f"{c.value} {c.count}" for c in out.top_categories))
    click.echo(f"database        {out.database}")


@main.command()
@click.option("--no-embed", is_flag=True, help="rebuild the keyword index only")
@click.pass_context
def reindex(ctx: click.Context, no_embed: bool) -> None:
    """Rebuild every index from the store (cached embeddings are reused)."""
    catalog = _catalog(ctx)
    started = time.perf_counter()
    bars = _Bars(True)
    done = catalog.rebuild(embed=not no_embed, progress=bars)
    bars.close()
    click.echo(f"reindexed {done} in {time.perf_counter() - started:.1f}s")


def _import_vectors(catalog: Catalog, path: Path, ids_path: Path | None) -> None:
    """Stream a file of precomputed vectors into the catalog; bad rows are counted, not fatal."""
    from papersift.embed.precomputed import PrecomputedError, open_vectors

    try:
        source = open_vectors(path, ids_path)
        if source.dim != catalog.dim:
            raise PrecomputedError(
                f"{path}: vectors have {source.dim} dimensions; the active encoder "
                f"{catalog.model_id} needs {catalog.dim}"
            )
        bars = _Bars(True)
        report = catalog.import_vector_chunks(source.chunks(), total=source.total, progress=bars)
        bars.close()
    except PrecomputedError as exc:
        _fail(str(exc))
    finally:
        catalog.close()
    click.echo(f"imported {report.imported:,} of {report.read:,} vectors")
    if report.unknown:
        examples = ", ".join(report.unknown_examples)
        click.echo(
            f"skipped {report.unknown:,} ids not in the catalogue (e.g. {examples})", err=True
        )
    if report.rejected:
        examples = ", ".join(report.rejected_examples)
        click.echo(
            f"rejected {report.rejected:,} rows with NaN/inf or all-zero values (e.g. {examples})",
            err=True,
        )


@main.command()
@click.option(
    "--import",
    "import_path",
    type=click.Path(exists=True, dir_okay=False),
    help="precomputed vectors: .npz (arrays 'ids', 'vectors'), .npy with --ids, or .parquet "
    "(columns 'id', 'vector' or 'embedding')",
)
@click.option(
    "--ids",
    "ids_path",
    type=click.Path(exists=True, dir_okay=False),
    help="with an .npy --import: paper ids, one per line or a .npy of strings",
)
@click.option(
    "--encoder",
    help="embed with this encoder (same as the global --encoder): minilm-onnx, static-minilm",
)
@click.option(
    "--device",
    default="cpu",
    show_default=True,
    help="cuda: the GPU batch path (torch extra), same vectors as minilm-onnx",
)
@click.pass_context
def embed(
    ctx: click.Context,
    import_path: str | None,
    ids_path: str | None,
    encoder: str | None,
    device: str,
) -> None:
    """Embed papers that have no current vector (resumable), or import precomputed vectors."""
    if encoder:
        ctx.ensure_object(dict)["encoder"] = encoder
    catalog = _catalog(ctx)
    if import_path:
        _import_vectors(catalog, Path(import_path), Path(ids_path) if ids_path else None)
        return
    if ids_path:
        _fail("--ids goes with --import FILE.npy")
    if device != "cpu":
        from papersift.embed.encoder import EncoderError, load_encoder

        try:
            catalog.use_encoder(load_encoder(catalog.settings.encoder, device=device))
        except EncoderError as exc:
            _fail(str(exc))
    bars = _Bars(True)
    done = catalog.sync(embed=True, progress=bars)
    bars.close()
    click.echo(f"embedded {done.get('embedded', 0)}, vector index +{done.get('vectors', 0)}")


@main.command()
@click.option("--host", default=None, help="default 127.0.0.1")
@click.option("--port", default=None, type=int, help="default 8000")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the web UI and the JSON API."""
    import uvicorn

    from papersift.web.app import create_app

    settings = _settings(ctx)
    app = create_app(settings)
    uvicorn.run(app, host=host or settings.host, port=port or settings.port, log_level="info")


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
@click.option("--no-serve", is_flag=True, help="load the demo corpus and stop")
@click.pass_context
def demo(ctx: click.Context, host: str, port: int, no_serve: bool) -> None:
    """Load the bundled demo corpus (~3,000 papers) and serve it on localhost."""
    from papersift.demo import load_demo

    obj = ctx.ensure_object(dict)
    if not obj.get("data_dir"):
        obj["data_dir"] = str(Settings().data_dir / "demo")
    catalog = _catalog(ctx)
    report = load_demo(catalog)
    click.echo(f"demo corpus: {report}")
    catalog.close()
    if not no_serve:
        click.echo(f"serving on http://{host}:{port}/")
        ctx.invoke(serve, host=host, port=port)


if __name__ == "__main__":  # pragma: no cover
    main()


# Commands defined in their own modules register themselves on `main` when imported.
from papersift import cli_community  # noqa: E402, F401
from papersift.cli_digest import digest  # noqa: E402

main.add_command(digest)
