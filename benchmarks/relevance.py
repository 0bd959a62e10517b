"""Relevance benchmark: papersift's own search stack, end to end, on a BEIR-layout data set.

Usage::

    python benchmarks/relevance.py DATASET_DIR [--split test] [--json OUT] [--data-dir DIR]
        [--modes keyword,semantic,hybrid,hybrid-rrf] [--limit-queries N] [--depth 100]
        [--without-titles] [--device cuda]
        [--keyword-weight 0.5] [--no-rerank] [--prf-docs K --prf-beta B --prf-terms M]
        [--variant NAME --variants-json OUT]

The defaults are papersift's shipped settings; the flags measure variants of the hybrid path
(``--variants-json`` adds the rows, labelled with ``--variant`` and the split, to a table file).

DATASET_DIR holds ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``,
``text``) and ``qrels/<split>.tsv`` (``query-id corpus-id score``). Documents without a title
(FiQA, Quora) are titled by their opening words, as papersift's ingest titles any such record,
and ranked by their text alone. As BEIR's own evaluation does by default, a document whose id is
the query's id is left out of that query's ranking: ArguAna and Quora put every query in the
corpus too, and finding the query itself is no answer. ``--without-titles`` drops every title
on the way in, to measure what titles add (its store is ``.cache/<dataset>-untitled``).

Why end to end: a benchmark that scores a hand-built BM25 or a bare vector index says nothing
about what users get. This one ingests the corpus with papersift's own tabular parser and ingest
service (cleaning, dedup, keyword index, embeddings, HNSW) and asks the same
:func:`papersift.service.searching.search` the web UI, API and CLI call. Latency is the wall time
of that call, so it includes query parsing, query embedding, fusion, snippets and facets.

The store lives in a persistent ``--data-dir`` (default ``benchmarks/.cache/<dataset>``, or
``<dataset>-<corpus sha256>`` when that one was built from another corpus of the same name):
papersift's ingest is idempotent and only embeds papers without a cached vector, so a re-run
costs seconds, not the minutes the first embedding pass takes on a CPU.

Nothing here is tuned on the qrels; they are read only to score.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from beir import BENCH_DIR, default_data_dir, ingest_corpus, load_dataset
from metrics import mean, mrr_at_k, ndcg_at_k, percentile, recall_at_k
from tqdm import tqdm

from papersift.config import Settings
from papersift.embed.encoder import EncoderError, load_encoder
from papersift.index.query import QueryError
from papersift.service import catalog as catalog_module
from papersift.service.catalog import Catalog
from papersift.service.models import Mode
from papersift.service.searching import search

Fusion = Literal["rrf", "zscore"]

MODES: dict[str, tuple[Mode, Fusion | None]] = {
    "keyword": ("keyword", None),
    "semantic": ("semantic", None),
    "hybrid": ("hybrid", None),
    "hybrid-rrf": ("hybrid", "rrf"),
    "hybrid-zscore": ("hybrid", "zscore"),
}
"""Benchmark mode name -> (papersift search mode, fusion method set on the catalog). Plain
``hybrid`` is papersift's hybrid search as configured (z-score fusion unless
``PAPERSIFT_FUSION`` says otherwise): the row that reports what users get."""
DEFAULT_MODES = ("keyword", "semantic", "hybrid", "hybrid-rrf")

PAGE_SIZE = 100  # the service's maximum page size, and the recall cut-off
NDCG_K = 10
MRR_K = 10
RECALL_K = 100


# --- querying ---------------------------------------------------------------------------------


@dataclass
class ModeResult:
    mode: str
    ndcg: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    mrr: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    query_errors: int = 0
    fell_back: int = 0  # the service answered in another mode (e.g. nothing left to embed)
    unknown_papers: int = 0
    seconds: float = 0.0

    def row(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "ndcg@10": round(mean(self.ndcg), 4),
            "recall@100": round(mean(self.recall), 4),
            "mrr@10": round(mean(self.mrr), 4),
            "p50_ms": round(percentile(self.latency_ms, 50), 2),
            "p95_ms": round(percentile(self.latency_ms, 95), 2),
            "queries": len(self.ndcg),
        }


def configure(catalog: Catalog, mode: str, depth: int, default_fusion: Fusion) -> Mode:
    """Point the catalog's settings at one benchmark mode; returns the service mode to ask for."""
    service_mode, fusion = MODES[mode]
    catalog.settings.fusion = fusion or default_fusion
    catalog.settings.fusion_depth = depth
    return service_mode


def ranked_paper_ids(catalog: Catalog, text: str, mode: Mode) -> tuple[list[str], Mode | None]:
    """One search through the service; a query the parser rejects is an empty result."""
    try:
        out = search(catalog, text, mode=mode, page=1, page_size=PAGE_SIZE)
    except QueryError:
        return [], None
    return [h.paper.id for h in out.hits], out.mode


def run_mode(
    catalog: Catalog,
    mode: str,
    queries: Sequence[tuple[str, str]],
    qrels: dict[str, dict[str, int]],
    paper_map: dict[str, list[str]],
    depth: int,
    default_fusion: Fusion,
) -> ModeResult:
    result = ModeResult(mode)
    service_mode = configure(catalog, mode, depth, default_fusion)
    # Warm-up outside the clock: the encoder and the index readers load on first use.
    ranked_paper_ids(catalog, queries[0][1], service_mode)
    started = time.perf_counter()
    for qid, text in tqdm(queries, desc=mode, unit="q", dynamic_ncols=True):
        # Each query should pay for its own embedding, as a user's does. The service keeps a
        # per-process query-vector cache (for paging), which would otherwise let the hybrid
        # modes reuse vectors the semantic run computed and report too-low latency.
        catalog_module._QUERY_CACHE.clear()
        t0 = time.perf_counter()
        pids, answered = ranked_paper_ids(catalog, text, service_mode)
        result.latency_ms.append((time.perf_counter() - t0) * 1000)
        if answered is None:
            result.query_errors += 1
        elif answered != service_mode:
            result.fell_back += 1
        ranked: list[str] = []
        for pid in pids:
            ids = paper_map.get(pid)
            if ids is None:
                result.unknown_papers += 1
                continue
            ranked.extend(ids)  # a merged paper stands for all of its corpus ids, in place
        ranked = [cid for cid in ranked if cid != qid]  # BEIR's ignore_identical_ids
        judged = qrels[qid]
        result.ndcg.append(ndcg_at_k(ranked, judged, NDCG_K))
        result.recall.append(recall_at_k(ranked, judged, RECALL_K))
        result.mrr.append(mrr_at_k(ranked, judged, MRR_K))
    result.seconds = time.perf_counter() - started
    return result


# --- reporting --------------------------------------------------------------------------------


def machine_info() -> dict[str, object]:
    """Where the numbers came from: latency means little without the machine and the commit."""
    try:
        cores_usable: int | None = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores_usable = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=BENCH_DIR,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": cores_usable,
        "load_avg": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "commit": commit or None,
    }


def format_table(results: Sequence[ModeResult]) -> str:
    header = (
        f"{'mode':<14} | {'nDCG@10':>7} | {'recall@100':>10} | {'MRR@10':>6} | "
        f"{'mean ms':>7} | {'p50 ms':>7} | {'p95 ms':>7}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r.mode:<14} | {mean(r.ndcg):>7.4f} | {mean(r.recall):>10.4f} | "
            f"{mean(r.mrr):>6.4f} | {mean(r.latency_ms):>7.1f} | "
            f"{percentile(r.latency_ms, 50):>7.1f} | {percentile(r.latency_ms, 95):>7.1f}"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("dataset", type=Path, help="BEIR-layout directory")
    ap.add_argument("--split", default="test", help="qrels split to score (default: test)")
    ap.add_argument("--json", type=Path, help="write the result rows as JSON here")
    ap.add_argument("--data-dir", type=Path, help="papersift data dir (default: .cache/<name>)")
    ap.add_argument(
        "--modes",
        default=",".join(DEFAULT_MODES),
        help=f"comma-separated, from {', '.join(MODES)} (hybrid: papersift's default fusion)",
    )
    ap.add_argument("--limit-queries", type=int, help="score only the first N judged queries")
    ap.add_argument(
        "--device",
        default="cpu",
        help="cuda: embed the corpus (and the queries) on the GPU batch path (torch extra), "
        "for sets too large to embed on a CPU; the same vectors as minilm-onnx",
    )
    ap.add_argument(
        "--without-titles",
        action="store_true",
        help="ingest every document without its title (as FiQA or Quora come)",
    )
    ap.add_argument(
        "--depth",
        type=int,
        default=Settings().fusion_depth,
        help="candidates per retriever before fusion",
    )
    ap.add_argument("--keyword-weight", type=float, help="z-score weight of the keyword list")
    ap.add_argument("--no-rerank", action="store_true", help="hybrid without the learned rerank")
    ap.add_argument("--prf-docs", type=int, help="pseudo-relevance feedback from the top K")
    ap.add_argument("--prf-beta", type=float, help="dense Rocchio weight (0: no dense feedback)")
    ap.add_argument("--prf-terms", type=int, help="RM3 expansion terms (0: no keyword feedback)")
    ap.add_argument("--prf-term-weight", type=float, help="RM3 interpolation weight")
    ap.add_argument("--variant", help="label of this run in --variants-json")
    ap.add_argument("--variants-json", type=Path, help="add the rows to this variants table")
    args = ap.parse_args(argv)
    args.mode_list = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in args.mode_list if m not in MODES]
    if unknown or not args.mode_list:
        ap.error(f"unknown mode(s) {unknown}; choose from {', '.join(MODES)}")
    if args.depth < 1:
        ap.error("--depth must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    dataset = load_dataset(args.dataset, args.split)
    name = dataset.name + ("-untitled" if args.without_titles else "")
    data_dir: Path = args.data_dir or default_data_dir(name, dataset.corpus)

    print(f"machine: {json.dumps(machine_info())}")
    missing = [q for q in dataset.qrels if q not in dataset.queries]
    queries = [(q, dataset.queries[q]) for q in dataset.qrels if q in dataset.queries]
    if args.limit_queries is not None:
        queries = queries[: args.limit_queries]
    print(
        f"dataset: {dataset.name} ({dataset.root}), split {args.split}: "
        f"{len(dataset.qrels)} judged queries, {len(queries)} scored"
        + (f", {len(missing)} judged but absent from queries.jsonl" if missing else "")
    )
    print(f"data dir: {data_dir}; modes: {', '.join(args.mode_list)}; fusion depth {args.depth}")
    if not queries:
        raise SystemExit("no judged queries to score")

    overrides = {
        "fusion_keyword_weight": args.keyword_weight,
        "rerank": False if args.no_rerank else None,
        "prf_docs": args.prf_docs,
        "prf_dense_beta": args.prf_beta,
        "prf_terms": args.prf_terms,
        "prf_term_weight": args.prf_term_weight,
    }
    settings = Settings(
        data_dir=data_dir,
        search_rate_per_minute=0,
        **{k: v for k, v in overrides.items() if v is not None},
    )
    search_settings = {
        k: getattr(settings, k)
        for k in (
            "encoder",
            "fusion_depth",
            "keyword_weight",
            "rerank",
            "prf_docs",
            "prf_dense_beta",
            "prf_terms",
            "prf_term_weight",
        )
    }
    print(f"search settings: {json.dumps(search_settings)}")
    catalog = Catalog(settings)
    if args.device != "cpu":
        try:
            catalog.use_encoder(load_encoder(settings.encoder, device=args.device))
        except EncoderError as exc:
            catalog.close()
            raise SystemExit(f"--device {args.device}: {exc}") from None
        print(f"encoder: {settings.encoder} on {args.device} (query latency is the GPU's)")
    try:
        t0 = time.perf_counter()
        cmap = ingest_corpus(catalog, dataset, titles=not args.without_titles)
        paper_map, warnings = cmap.paper_map(catalog)
        merged_groups = [ids for ids in paper_map.values() if len(ids) > 1]
        merged = sum(len(ids) - 1 for ids in merged_groups)
        print(
            f"corpus: {cmap.records} records -> {len(paper_map)} papers; dedup merged {merged} "
            f"corpus ids into {len(merged_groups)} papers"
            + (f" (e.g. {merged_groups[:3]})" if merged_groups else "")
            + f"; {cmap.unusable} unusable, {cmap.without_id} without an id"
            + f"; ingest step {time.perf_counter() - t0:.1f} s"
        )
        for w in warnings:
            print(f"WARNING: {w}")

        results: list[ModeResult] = []
        for mode in args.mode_list:
            r = run_mode(
                catalog, mode, queries, dataset.qrels, paper_map, args.depth, settings.fusion
            )
            results.append(r)
            notes = [f"{r.seconds:.1f} s"]
            if r.query_errors:
                notes.append(f"{r.query_errors} QueryError (scored as empty)")
            if r.fell_back:
                notes.append(f"{r.fell_back} answered in another mode")
            if r.unknown_papers:
                notes.append(f"{r.unknown_papers} hits on papers outside the corpus map")
            print(f"{mode}: {'; '.join(notes)}")
    finally:
        catalog.close()

    print()
    print(format_table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([r.row() for r in results], indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.variants_json:
        add_variant_rows(
            args.variants_json,
            args.variant or "default",
            args.split,
            results,
            {**search_settings, "fusion_depth": args.depth},
        )
    return 0


def add_variant_rows(
    path: Path, variant: str, split: str, results: Sequence[ModeResult], settings: dict[str, object]
) -> None:
    """Add (or replace) this run's rows in a variants table keyed by variant, split and mode."""
    rows: list[dict[str, object]] = json.loads(path.read_text()) if path.exists() else []
    new = [{"variant": variant, "split": split, **r.row(), "settings": settings} for r in results]
    keys = {(r["variant"], r["split"], r["mode"]) for r in new}
    rows = [r for r in rows if (r["variant"], r["split"], r["mode"]) not in keys] + new
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"added {len(new)} rows to {path}")


if __name__ == "__main__":
    sys.exit(main())
