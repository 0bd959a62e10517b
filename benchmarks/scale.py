"""Scale benchmark: papersift at 100k, 1M and 2.7M papers (all of arXiv) on this machine.

Usage::

    python benchmarks/scale.py embed-real [--minutes 30]      # grow the pool of real vectors
    python benchmarks/scale.py run [--sizes 100k,1m,2.7m] [--budget-minutes 25]
    python benchmarks/scale.py measure --size 1m [--partial]  # measure what a build has so far
    python benchmarks/scale.py tune [--size 100k]             # HNSW recall vs ef / build settings
    python benchmarks/scale.py report                         # tables, JSON and plot again

What is real and what is not (the JSON and the tables say it again per size):

- **Papers.** The ~114k distinct real arXiv records of ``../shared/data/arxiv-large`` come first
  (in a seeded random order); beyond them, papers are synthetic: each takes its title's first
  half, first sentence and categories from a real "base" paper, the second half of its title
  and the rest of its sentences from real papers of the same primary category, its number of
  sentences and authors from other real papers, author names from the real author pool, and an
  arXiv-style id and date from 2007-2024 in a range no real record uses (source
  ``scale-synthetic``).
- **Vectors.** Embedding 2.7M abstracts with the shipped encoder on 2 CPU cores takes days
  (measured here: 4-25 abstracts/s, depending on what else runs), so a pool of real MiniLM
  vectors is used: real papers embedded by ``embed-real`` (resumable) and the demo corpus's
  shipped vectors, arXiv papers only. Real papers of the pool keep
  their real vector; every other paper gets a synthetic one: a random convex mix of a pool
  vector and 9 of its 10 nearest pool neighbours, plus Gaussian noise shaped by the pool's
  covariance, whose scale is calibrated so that a synthetic vector's 1st and 10th nearest real
  neighbour are as similar as a held-out real paper's. Clusters follow the real topic structure.
- **Queries** are real: titles and 3-word phrases of real papers every size contains; query
  vectors come from the shipped encoder, and hybrid latency includes embedding the query.

Every step goes through papersift's own code. Up to ``--store-max`` (100k) papers, records go
through ``service.ingesting.ingest`` (cleaning, dedup, SQLite upsert, tantivy keyword sync) and
vectors through ``Catalog.import_vector_chunks`` (the ``papersift embed --import`` path: SQLite
embedding cache and the HNSW index), and latency is measured at index level and through
``service.searching.search``. Larger sizes build the two indexes alone through ``KeywordIndex``
and ``VectorIndex`` (no SQL store: on this machine the store path runs at ~300 papers/s) and
are measured at index level. Builds are cached in ``benchmarks/.cache/scale-<N>`` and resume
where they stopped; a run stops at ``--budget-minutes`` and says so (run again to continue, or
``measure --partial`` the prefix that is there). A larger size starts from a copy of the largest
finished smaller build: the corpus is deterministic, so its first papers are the same.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import onnxruntime  # noqa: F401  # isort: skip  (before usearch: DESIGN.md import-order crash)

from scale_build import build, build_dir, build_indexes_only
from scale_corpus import (
    CACHE,
    DIM,
    REAL_DIR,
    Corpus,
    cmd_embed_real,
    log,
    parse_size,
    real_records,
    size_name,
    vector_pool,
)
from scale_measure import cmd_measure, exact_top10, lat, query_set, recall_at_10, rss_bytes
from scale_report import cmd_report, report


def cmd_run(args: argparse.Namespace) -> None:

    rows = real_records()
    pool = vector_pool(rows)
    corpus = Corpus(rows)
    for text in args.sizes.split(","):
        n = parse_size(text)
        log(f"=== {size_name(n)} ({n:,} papers) ===")
        budget = args.budget_minutes * 60
        if n <= args.store_max:
            state = build(n, corpus, pool, budget, args.real_ingest_max)
        else:
            state = build_indexes_only(n, corpus, pool, budget)
        if not state.get("complete"):
            log(
                f"{size_name(n)}: build stopped at the {args.budget_minutes:g}-minute budget "
                f"({state.get('landed', state.get('keyword', {}).get('papers', 0)):,} papers, "
                f"{state['vectors']['papers']:,} "
                "vectors); run again to continue"
            )
            continue
        if args.skip_measure and (build_dir(n) / "measure.json").exists():
            continue
        cmd = [
            sys.executable,
            __file__,
            "measure",
            "--size",
            text,
            "--titles",
            str(args.titles),
            "--phrases",
            str(args.phrases),
            "--service-queries",
            str(args.service_queries),
        ]
        subprocess.run(cmd, check=True)
    report(rows, pool, corpus)


def cmd_tune(args: argparse.Namespace) -> None:
    """HNSW settings against exact search, through papersift's VectorIndex (int8 graph + float16
    re-rank), on one finished build's vectors; each setting is built apart in a temp dir."""
    import tempfile

    from papersift.index import vector as vector_module

    n = parse_size(args.size)
    d = build_dir(n)
    x = np.load(d / "vectors.npy", mmap_mode="r")
    rows = real_records()
    queries = query_set(rows, args.titles, args.phrases)
    qvecs = np.load(REAL_DIR / f"queries-{args.titles}-{args.phrases}.npy")
    qv = qvecs[[i for i, (k, _) in enumerate(queries) if k == "title"]]
    truth = exact_top10(d / "vectors.npy", qv)
    out = []
    defaults = (vector_module.CONNECTIVITY, vector_module.EF_ADD)
    for spec in args.configs.split(","):
        m, efa = (int(v) for v in spec.split(":"))
        vector_module.CONNECTIVITY, vector_module.EF_ADD = m, efa
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            idx = vector_module.VectorIndex(Path(tmp) / "v.usearch", DIM, "tune")
            anon0 = rss_bytes("RssAnon:")
            t0 = time.perf_counter()
            for s0 in tqdm(range(0, len(x), 50_000), desc=f"build M={m} ef_add={efa}"):
                block = np.asarray(x[s0 : s0 + 50_000], dtype=np.float32)
                idx.upsert(list(range(s0, s0 + len(block))), block)
            build_s = time.perf_counter() - t0
            anon1 = rss_bytes("RssAnon:")
            for ef in (int(v) for v in args.efs.split(",")):
                idx.ef_search = ef
                for k, rerank in ((10, 0), (10, 64), (100, 100)):
                    rec, times = recall_at_10(idx, qv, truth, k, rerank)
                    row = {
                        "connectivity": m,
                        "expansion_add": efa,
                        "ef": ef,
                        "k": k,
                        "rerank": rerank,
                        "recall@10": round(rec, 4),
                        **lat(times),
                        "build_s": round(build_s, 1),
                        "adds_per_s": round(len(x) / build_s, 1),
                        "bytes_per_paper_usearch": round(idx.index.memory_usage / len(x), 1),
                        "bytes_per_paper_anon_rss": round((anon1 - anon0) / len(x), 1),
                    }
                    out.append(row)
                    print(json.dumps(row), flush=True)
            del idx
    vector_module.CONNECTIVITY, vector_module.EF_ADD = defaults
    (CACHE / f"scale-tune-{size_name(n)}.json").write_text(json.dumps(out, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("embed-real", help="embed more real papers for the vector pool")
    e.add_argument("--minutes", type=float, default=30)
    e.add_argument("--limit", type=int, default=0)
    e.add_argument("--threads", type=int, default=2)
    for name in ("run", "measure", "tune"):
        p = sub.add_parser(name)
        p.add_argument("--titles", type=int, default=200)
        p.add_argument("--phrases", type=int, default=100)
        if name == "run":
            p.add_argument("--sizes", default="100k,1m,2.7m")
            p.add_argument("--budget-minutes", type=float, default=25)
            p.add_argument("--service-queries", type=int, default=100)
            p.add_argument("--skip-measure", action="store_true")
            p.add_argument(
                "--store-max",
                type=int,
                default=100_000,
                help="larger sizes build the two indexes only (no SQL store, index-level latency)",
            )
            p.add_argument(
                "--real-ingest-max",
                type=int,
                default=100_000,
                help="papers below this go through the ingest service, the rest bulk-inserted",
            )
        elif name == "measure":
            p.add_argument("--size", required=True)
            p.add_argument("--service-queries", type=int, default=100)
            p.add_argument(
                "--partial",
                action="store_true",
                help="measure the part of an unfinished build that is there (its N is reported)",
            )
        else:
            p.add_argument("--size", default="100k")
            p.add_argument(
                "--configs",
                default="16:64,16:128,12:128,16:256",
                help="CONNECTIVITY:EXPANSION_ADD pairs",
            )
            p.add_argument("--efs", default="32,64,96,128,160,192,256,384", help="search widths")
    sub.add_parser("report")
    args = ap.parse_args()
    commands = {
        "embed-real": cmd_embed_real,
        "run": cmd_run,
        "measure": cmd_measure,
        "tune": cmd_tune,
        "report": cmd_report,
    }
    commands[args.cmd](args)


if __name__ == "__main__":
    main()
