"""The `papersift` command: a thin face over the service layer (parse flags, call, print).

This module holds the click group `main`, the helpers the command modules share
(`open_catalog`, `fail`, `parse_date_option`), and the search/similar/show/stats and serve/demo
commands. Other commands live in their own modules, imported at the end of this one:
`cli_ingest` (ingest, embed, reindex), `cli_community` (users, votes, lists, tags) and
`cli_digest` (email digests).
"""

from __future__ import annotations

import sys
from datetime import date
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


def open_catalog(ctx: click.Context) -> Catalog:
    from papersift.service.catalog import Catalog

    return Catalog(_settings(ctx))


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def parse_date_option(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a YYYY-MM-DD date") from None


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

    catalog = open_catalog(ctx)
    if pending is not None:
        catalog.preload_encoder(pending)
    try:
        out = searching.search(catalog, query, mode=mode, page=page, page_size=limit, sort=sort)  # type: ignore[arg-type]
    except QueryError as exc:
        fail(str(exc))
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

    catalog = open_catalog(ctx)
    try:
        if text:
            out = searching.similar_to_text(catalog, text, k=limit)
        else:
            out = searching.similar(catalog, list(paper_ids), k=limit)
    except (searching.NotFound, ValueError) as exc:
        fail(str(exc))
    _print_hits(out.hits, as_json, out)


@main.command()
@click.argument("paper_id")
@click.option("--bibtex", is_flag=True, help="a BibTeX entry instead of JSON")
@click.pass_context
def show(ctx: click.Context, paper_id: str, bibtex: bool) -> None:
    """Print one paper as JSON (or BibTeX)."""
    from papersift.service import searching

    try:
        paper = searching.get(open_catalog(ctx), paper_id)
    except searching.NotFound as exc:
        fail(str(exc))
    if bibtex:
        from papersift.export.bibtex import to_bibtex

        click.echo(to_bibtex([paper]), nl=False)
    else:
        click.echo(paper.model_dump_json(indent=2))


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """What is in the catalogue and its indexes."""
    from papersift.service.statistics import catalog_stats

    out = catalog_stats(open_catalog(ctx))
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
@click.option("--host", default=None, help="default 127.0.0.1")
@click.option("--port", default=None, type=int, help="default 8000")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the web UI and the JSON API."""
    import uvicorn

    from papersift.web.app import create_app

    settings = _settings(ctx)
    app = create_app(settings, warm=True)
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
    catalog = open_catalog(ctx)
    report = load_demo(catalog)
    click.echo(f"demo corpus: {report}")
    catalog.close()
    if not no_serve:
        click.echo(f"serving on http://{host}:{port}/")
        ctx.invoke(serve, host=host, port=port)


# Commands defined in their own modules register themselves on `main` when imported.
from papersift import cli_community, cli_ingest  # noqa: E402, F401
from papersift.cli_digest import digest  # noqa: E402

main.add_command(digest)

if __name__ == "__main__":  # pragma: no cover
    # `python -m papersift.cli` runs this file as __main__, a copy apart from `papersift.cli`,
    # whose `main` the modules above register on: run that one, so every command is there.
    from papersift.cli import main as registered_main

    registered_main()
