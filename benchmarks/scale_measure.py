"""Measuring one finished build of the scale benchmark in a fresh process: query latency at
index and service level, vector recall against exact search, sizes on disk and memory per paper."""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from scale_build import build_dir, read_state, write_f16
from scale_corpus import (
    DIM,
    MODEL,
    REAL_DIR,
    SEED,
    log,
    parse_size,
    real_records,
    size_name,
    vector_pool,
)
from scale_report import machine
from tqdm import tqdm


def rss_bytes(field: str = "VmRSS:") -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def mapped_rss(path: Path) -> int:
    """Resident bytes of this process's memory maps of ``path`` (from /proc/self/smaps)."""
    target, total, inside = str(path.resolve()), 0, False
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split(maxsplit=5)
            if len(head) >= 5 and "-" in head[0] and not head[0].endswith(":"):
                inside = len(head) == 6 and head[5].strip() == target
            elif inside and line.startswith("Rss:"):
                total += int(line.split()[1]) * 1024
    return total


_OPEN_COST = """
import json, sys
from pathlib import Path
from papersift.index.vector import VectorIndex
def anon():
    with open("/proc/self/status") as f:
        return next(int(x.split()[1]) * 1024 for x in f if x.startswith("RssAnon:"))
before = anon()
index = VectorIndex(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
print(json.dumps({"anon_bytes": anon() - before, "papers": len(index), "mapped": index.mapped}))
"""


def vector_open_cost(path: Path, dim: int, model: str) -> dict[str, Any]:
    """The memory a fresh process allocates to open the vector index, besides the mapped file.

    Measured in a child process: in this one, heap freed by earlier work (loading the encoder)
    is reused without growing the RSS, which hides usearch's lookup tables at 100k papers.
    """
    out = subprocess.run(
        [sys.executable, "-c", _OPEN_COST, str(path), str(dim), model],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def dir_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


_WORD = re.compile(r"^[a-z][a-z-]{2,}$")


def query_set(rows: list[dict[str, Any]], n_titles: int, n_phrases: int) -> list[tuple[str, str]]:
    """``(kind, text)``: titles and 3-word phrases of real papers that every size contains."""
    rng = random.Random(SEED + 2)
    real = rows[: min(len(rows), 100_000)]
    out = [("title", real[i]["title"]) for i in rng.sample(range(len(real)), n_titles)]
    while len(out) < n_titles + n_phrases:
        words = real[rng.randrange(len(real))]["abstract"].split()
        if len(words) < 10:
            continue
        i = rng.randrange(len(words) - 3)
        phrase = [w.strip(".,;:()") for w in words[i : i + 3]]
        if all(_WORD.match(w) for w in phrase):
            out.append(("phrase", " ".join(phrase)))
    return out


def warm_service(size: str) -> tuple[Any, list[str]]:
    """A catalogue over a finished build with the shipped encoder, after 20 hybrid searches
    (caches filled, mapped pages touched), and the 300 benchmark queries' texts: where the
    side-by-side service benchmarks start (``concurrent_search.py``, ``service_tail.py``)."""
    from papersift.config import Settings
    from papersift.embed.onnx_minilm import OnnxMiniLM
    from papersift.service import searching
    from papersift.service.catalog import Catalog

    texts = [t for _, t in query_set(real_records(), 200, 100)]
    catalog = Catalog(Settings(data_dir=build_dir(parse_size(size))))
    catalog.use_encoder(OnnxMiniLM())
    for t in texts[:20]:
        searching.search(catalog, t, mode="hybrid")
    return catalog, texts


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2) if values else 0.0


def lat(values: list[float]) -> dict[str, float]:
    return {"p50": pct(values, 50), "p95": pct(values, 95), "p99": pct(values, 99)}


def exact_top10(rows_path: Path, qvecs: np.ndarray) -> np.ndarray:
    """Exact top-10 corpus positions per query: numpy brute force over the f16 vectors."""
    x = np.load(rows_path, mmap_mode="r")
    best_s = np.full((len(qvecs), 10), -2.0, dtype=np.float32)
    best_i = np.zeros((len(qvecs), 10), dtype=np.int64)
    step = 100_000
    for s in tqdm(range(0, len(x), step), desc="exact search", unit=" blocks", leave=False):
        sims = np.asarray(x[s : s + step], dtype=np.float32) @ qvecs.T  # (block, q)
        k = min(10, len(sims))
        idx = np.argpartition(-sims, k - 1, axis=0)[:k]  # (k, q)
        cand_s = np.concatenate([best_s, np.take_along_axis(sims, idx, axis=0).T], axis=1)
        cand_i = np.concatenate([best_i, idx.T + s], axis=1)
        order = np.argsort(-cand_s, axis=1)[:, :10]
        best_s = np.take_along_axis(cand_s, order, axis=1)
        best_i = np.take_along_axis(cand_i, order, axis=1)
    return best_i


def recall_at_10(
    index: Any, qv: np.ndarray, truth: np.ndarray, k: int, rerank: int
) -> tuple[float, list[float]]:
    """recall@10 of ``index.search`` against exact ``truth`` rows, and each query's ms."""
    got, times = [], []
    for v in qv:
        t0 = time.perf_counter()
        hits = index.search(v, k, rerank=rerank)
        times.append((time.perf_counter() - t0) * 1000)
        got.append([h for h, _ in hits[:10]])
    rec = float(np.mean([len(set(g) & set(tr)) / 10 for g, tr in zip(got, truth, strict=True)]))
    return rec, times


def _pick(sweep: list[dict[str, Any]], ef: int, k: int, rerank: int) -> float:
    return next(
        float(r["recall@10"]) for r in sweep if (r["ef"], r["k"], r["rerank"]) == (ef, k, rerank)
    )


def cmd_measure(args: argparse.Namespace) -> None:
    """Latency, recall, sizes and memory of one finished build (run in a fresh process)."""
    rss_start = rss_bytes()
    from papersift.config import Settings
    from papersift.embed.onnx_minilm import OnnxMiniLM
    from papersift.index.hybrid import fuse
    from papersift.index.keyword import KeywordIndex
    from papersift.index.vector import RERANK_DEPTH, VectorIndex
    from papersift.service import catalog as catalog_module
    from papersift.service import searching
    from papersift.service.catalog import Catalog
    from papersift.service.warmup import warm_up

    n = parse_size(args.size)
    d = build_dir(n)
    state = read_state(d)
    partial = not state.get("complete")
    if partial and not args.partial:
        raise SystemExit(f"{d} is not a finished build: run `scale.py run --sizes {args.size}`")
    rows = real_records()
    queries = query_set(rows, args.titles, args.phrases)
    encoder = OnnxMiniLM()
    qv_path = REAL_DIR / f"queries-{args.titles}-{args.phrases}.npy"
    if qv_path.exists():
        qvecs = np.load(qv_path)
    else:
        qvecs = encoder.encode([t for _, t in queries], batch_size=32)
        np.save(qv_path, qvecs)
    rss_encoder = rss_bytes()
    full = state.get("mode") != "index-only"
    catalog = Catalog(Settings(data_dir=d)) if full else None
    if catalog is not None:
        catalog.use_encoder(encoder)
        keyword = catalog.keyword
        rss_catalog = rss_bytes()
        vec_index = catalog.vectors  # loaded on first use
        n_vectors = len(vec_index)
    else:
        keyword = KeywordIndex(d / "index" / "keyword")
        rss_catalog = rss_bytes()
        vec_index = VectorIndex(d / "index" / f"vectors-{MODEL}.usearch", DIM, MODEL)
        n_vectors = len(vec_index)
    rss_vectors = rss_bytes()
    texts = [t for _, t in queries]

    def timed(fn: Any, repeat: int = 1) -> float:
        """Milliseconds; with ``repeat``, the best of several runs (scheduling noise removed)."""
        best = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            best = min(best, (time.perf_counter() - t) * 1000)
        return best

    depth = Settings().fusion_depth
    for t, v in zip(texts[:20], qvecs[:20], strict=True):  # warm-up: caches, mmap pages
        keyword.search(t, limit=depth)
        vec_index.search(v, depth)
    other_core = ThreadPoolExecutor(max_workers=1)
    names = ("keyword", "vector", "embed", "hybrid")
    legs: dict[str, list[float]] = {k: [] for k in names}
    best3: dict[str, list[float]] = {k: [] for k in names}
    for t, v in tqdm(list(zip(texts, qvecs, strict=True)), desc="index-level queries"):

        def hybrid(t: str = t) -> None:
            # As service.searching.search does: the keyword leg on the other core meanwhile.
            pending = other_core.submit(keyword.search, t, limit=depth)
            semantic = vec_index.search(encoder.encode([t])[0], depth)
            kw, _ = pending.result()
            fuse({"keyword": kw, "semantic": semantic}, "zscore")

        calls: dict[str, Any] = {
            "keyword": lambda t=t: keyword.search(t, limit=depth),
            "vector": lambda v=v: vec_index.search(v, depth),
            "embed": lambda t=t: encoder.encode([t]),
            "hybrid": hybrid,
        }
        for name, fn in calls.items():
            legs[name].append(timed(fn))
            best3[name].append(min(legs[name][-1], timed(fn, repeat=2)))
    service: dict[str, list[float]] = {"keyword": [], "semantic": [], "hybrid": []}
    if catalog is not None:
        # As `papersift serve` does before its first request: the heap frozen out of full
        # garbage collections (~25 ms each at 2.7M, every ~70 searches otherwise).
        warm_up(catalog)
        for t in tqdm(texts[: args.service_queries], desc="service-level queries"):
            for mode in service:
                catalog_module._QUERY_CACHE.clear()  # every query pays for its embedding
                service[mode].append(
                    timed(lambda t=t, m=mode: searching.search(catalog, t, mode=m))
                )
    rss_queries = rss_bytes()

    # recall@10 of the HNSW index against exact search, on the title queries
    if partial:  # the built prefix: keys 1..n_vectors are corpus positions 0..n_vectors-1
        rows_path = d / "vectors-partial.npy"
        if not rows_path.exists() or np.load(rows_path, mmap_mode="r").shape[0] != n_vectors:
            write_f16(d, vector_pool(rows), n_vectors, rows_path)
        nums = np.arange(1, n_vectors + 1, dtype=np.int64)
    else:
        rows_path, nums = d / "vectors.npy", np.load(d / "nums.npy")
    title_idx = [i for i, (kind, _) in enumerate(queries) if kind == "title"]
    qv = qvecs[title_idx]
    truth = nums[exact_top10(rows_path, qv)]
    default_ef = vec_index.default_ef()
    sweep = []
    for ef in sorted({64, 128, 192, 256, 384, 512, 768, 1024, 1536, default_ef}):
        vec_index.ef_search = ef
        for k, rerank in ((10, 0), (10, RERANK_DEPTH), (depth, 0), (depth, depth)):
            rec, times = recall_at_10(vec_index, qv, truth, k, rerank)
            row = {"ef": ef, "k": k, "rerank": rerank, "recall@10": round(rec, 4), **lat(times)}
            sweep.append(row)
    vec_index.ef_search = None
    # A mapped graph's RAM is the file's pages in the page cache: every page once all of it has
    # been touched (the worst case, reported against the budget), fewer after a query workload.
    mapped_file = dir_bytes(vec_index.path) if getattr(vec_index, "mapped", False) else 0
    mapped_resident = mapped_rss(vec_index.path) if mapped_file else 0
    open_cost = vector_open_cost(vec_index.path, DIM, MODEL)
    at_default = {
        "k=10": _pick(sweep, default_ef, 10, RERANK_DEPTH),
        "k=100": _pick(sweep, default_ef, depth, depth),
        "k=10, int8 only": _pick(sweep, default_ef, 10, 0),
        "k=100, int8 only": _pick(sweep, default_ef, depth, 0),
    }
    sizes = {
        "keyword_index": dir_bytes(d / "index" / "keyword"),
        "vector_index": dir_bytes(vec_index.path),
        "vector_rows_f16": dir_bytes(vec_index.exact_path) if vec_index.exact_path.exists() else 0,
        "sqlite": dir_bytes(d / "papersift.sqlite") if full else 0,
    }
    result = {
        "n": n_vectors if partial else n,
        "partial_build_of": n if partial else None,
        "papers": int(keyword.num_docs()),
        "vectors": n_vectors,
        "queries": {
            "titles": args.titles,
            "phrases": args.phrases,
            "service": args.service_queries,
        },
        "latency_ms": {k: lat(v) for k, v in legs.items()},
        "latency_best_of_3_ms": {k: lat(v) for k, v in best3.items()},
        "service_latency_ms": {k: lat(v) for k, v in service.items()} if full else None,
        "build_mode": "store + indexes" if full else "indexes only (no SQL store)",
        "recall@10": at_default,
        "ef_sweep": sweep,
        "hnsw": {
            "connectivity": vec_index.index.connectivity,
            "expansion_add": vec_index.built_with,  # as recorded (usearch does not store it)
            "expansion_search": default_ef,
            "dtype": str(vec_index.index.dtype),
            "memory_usage_bytes": int(vec_index.index.memory_usage),
        },
        "disk_bytes": sizes,
        "rss_bytes": {
            "start": rss_start,
            "encoder_loaded": rss_encoder,
            "catalog_opened": rss_catalog,
            "vector_index_loaded": rss_vectors,
            "after_queries": rss_queries,
        },
        "bytes_per_paper": {
            # Loaded: the RSS growth on opening. Mapped: the memory usearch allocates on opening
            # (its key and node lookup tables, see vector_open_cost) plus the whole file, as if
            # every page were resident (VmRSS would count only the file pages touched so far).
            "vector_index_rss": round(
                (
                    open_cost["anon_bytes"] + mapped_file
                    if mapped_file
                    else rss_vectors - rss_catalog
                )
                / max(n_vectors, 1),
                1,
            ),
            "vector_index_lookup_tables": round(open_cost["anon_bytes"] / max(n_vectors, 1), 1),
            "vector_index_mapped_resident_after_queries": round(
                mapped_resident / max(n_vectors, 1), 1
            ),
            "vector_index_mapped": bool(mapped_file),
            "vector_index_usearch": round(vec_index.index.memory_usage / max(n_vectors, 1), 1),
            "all_rss": round((rss_queries - rss_encoder) / max(n_vectors, 1), 1),
            "disk_total": round(sum(sizes.values()) / max(n_vectors, 1), 1),
        },
        "load_avg_during": os.getloadavg(),
        "machine": machine(),
    }
    (d / "measure.json").write_text(json.dumps(result, indent=1))
    if catalog is not None:
        catalog.close()
    log(f"measured {size_name(n)}: {json.dumps(result['latency_ms'])} recall {at_default}")


# --- running, tuning and reporting -------------------------------------------------------------
