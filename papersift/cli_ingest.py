"""`papersift` commands that load data into the catalogue: ``ingest`` (files and the arXiv
API/OAI feeds), ``embed`` (compute or import vectors) and ``reindex``, with their progress bars.

They register themselves on the `papersift` group when `papersift.cli` imports this module.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from papersift.cli import fail, main, open_catalog, parse_date_option

if TYPE_CHECKING:
    from papersift.service.catalog import Catalog


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
        fail(f"unknown source {source!r}; known: {', '.join([*FILE_SOURCES, *NETWORK_SOURCES])}")
    if source in FILE_SOURCES and not paths:
        fail(f"{source} needs at least one file path")
    catalog = open_catalog(ctx)
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
            date_from=parse_date_option(date_from),
            date_to=parse_date_option(date_to),
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
        fail(str(exc))
    finally:
        catalog.close()


@main.command()
@click.option("--no-embed", is_flag=True, help="rebuild the keyword index only")
@click.option(
    "--vectors-only",
    is_flag=True,
    help="rebuild the vector graph only (e.g. one built by an older papersift)",
)
@click.pass_context
def reindex(ctx: click.Context, no_embed: bool, vectors_only: bool) -> None:
    """Rebuild every index from the store (cached embeddings are reused)."""
    if no_embed and vectors_only:
        fail("--no-embed and --vectors-only leave nothing to rebuild together")
    catalog = open_catalog(ctx)
    started = time.perf_counter()
    bars = _Bars(True)
    done = catalog.rebuild(embed=not no_embed, keyword=not vectors_only, progress=bars)
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
        fail(str(exc))
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
    catalog = open_catalog(ctx)
    if import_path:
        _import_vectors(catalog, Path(import_path), Path(ids_path) if ids_path else None)
        return
    if ids_path:
        fail("--ids goes with --import FILE.npy")
    if device != "cpu":
        from papersift.embed.encoder import EncoderError, load_encoder

        try:
            catalog.use_encoder(load_encoder(catalog.settings.encoder, device=device))
        except EncoderError as exc:
            fail(str(exc))
    bars = _Bars(True)
    done = catalog.sync(embed=True, progress=bars)
    bars.close()
    click.echo(f"embedded {done.get('embedded', 0)}, vector index +{done.get('vectors', 0)}")
