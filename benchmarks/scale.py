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
import gzip
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

import onnxruntime  # noqa: F401  # isort: skip  (before usearch: DESIGN.md import-order crash)

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
SHARED = ROOT.parent / "shared"
ARXIV_LARGE = SHARED / "data" / "arxiv-large"
TARBALLS = ("daily-arxiv-dw-dengwei-data-branch.tar.gz", "daily-arxiv-dw-dengwei-pull-refs.tar.gz")
CACHE = Path(os.environ.get("SCALE_CACHE", BENCH_DIR / ".cache"))
REAL_DIR = CACHE / "scale-real"
RESULTS = Path(os.environ.get("SCALE_RESULTS", BENCH_DIR / "results"))
SEED = 20260701
DIM = 384
EMBED_CHUNK = 256
DISK_KEYS = ("keyword_index", "vector_index", "sqlite")
MODEL = "all-MiniLM-L6-v2"
SIZES = {"100k": 100_000, "1m": 1_000_000, "2.7m": 2_700_000}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def parse_size(text: str) -> int:
    t = text.strip().lower()
    if t in SIZES:
        return SIZES[t]
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t.rstrip("km")) * mult)


def size_name(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:g}m"
    return f"{n / 1e3:g}k" if n >= 1000 else str(n)


# --- the real records -----------------------------------------------------------------------


_VERSION = re.compile(r"v\d+$")


def _read_tarballs() -> Iterator[dict[str, Any]]:
    for name in TARBALLS:
        path = ARXIV_LARGE / name
        if not path.exists():
            raise SystemExit(f"real records not found: {path}")
        with tarfile.open(path) as tf:
            for m in tf:  # archive order: sorting members forces slow gzip re-seeks
                if not m.isfile() or not m.name.endswith(".jsonl"):
                    continue
                fh = tf.extractfile(m)
                if fh is None:
                    continue
                day = m.name[-16:-6]
                for line in fh:
                    if line.strip():
                        yield json.loads(line) | {"listing_day": day}


def real_records() -> list[dict[str, Any]]:
    """The distinct real papers (deduplicated by id without version), in a seeded random order.

    Cached as one gzip JSON-lines file: reading the two tarballs takes ~15 s.
    """
    path = REAL_DIR / "papers.jsonl.gz"
    if path.exists():
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return [json.loads(line) for line in f]
    seen: dict[str, dict[str, Any]] = {}
    for d in tqdm(_read_tarballs(), desc="reading arxiv-large", unit=" lines"):
        pid = _VERSION.sub("", str(d.get("id", "")).strip())
        title = " ".join(str(d.get("title") or "").split())
        if not pid or not title or pid in seen:
            continue
        cats = d.get("categories") or ([d["cate"]] if d.get("cate") else [])
        seen[pid] = {
            "id": pid,
            "title": title,
            "abstract": " ".join(str(d.get("summary") or "").split()),
            "authors": [str(a) for a in d.get("authors") or []],
            "categories": [str(c) for c in cats],
            "comment": d.get("comment") or None,
            "day": d["listing_day"],
        }
    rows = sorted(seen.values(), key=lambda r: r["id"])
    random.Random(SEED).shuffle(rows)
    REAL_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return rows


def embed_text_of(r: dict[str, Any]) -> str:
    from papersift.store.papers import embed_text

    return embed_text(r["title"], r["abstract"])


# --- the pool of real vectors ---------------------------------------------------------------


def _chunk_paths() -> list[Path]:
    return sorted((REAL_DIR / "vectors").glob("chunk-*.npy"))


def cmd_embed_real(args: argparse.Namespace) -> None:
    """Embed real papers in the cached random order with the shipped encoder, 256 at a time.

    Each chunk is its own file, so a killed run loses at most one chunk and a re-run goes on.
    """
    from papersift.embed.onnx_minilm import OnnxMiniLM

    rows = real_records()
    out = REAL_DIR / "vectors"
    out.mkdir(parents=True, exist_ok=True)
    done = len(_chunk_paths()) * EMBED_CHUNK
    encoder = OnnxMiniLM(threads=args.threads)
    deadline = time.monotonic() + args.minutes * 60
    limit = min(len(rows), args.limit or len(rows))
    bar = tqdm(total=limit, initial=done, desc="embedding real papers", unit=" papers")
    while done < limit and time.monotonic() < deadline:
        batch = rows[done : done + EMBED_CHUNK]
        vecs = encoder.encode([embed_text_of(r) for r in batch], batch_size=32)
        tmp = out / f"chunk-{done // EMBED_CHUNK:05d}.tmp.npy"
        np.save(tmp, vecs.astype(np.float16))
        tmp.replace(out / f"chunk-{done // EMBED_CHUNK:05d}.npy")
        done += len(batch)
        bar.update(len(batch))
    bar.close()
    log(f"real vectors: {done} of {len(rows)} real papers embedded")


@dataclass
class Pool:
    """Real MiniLM vectors that synthetic vectors are made from, frozen once built."""

    vectors: np.ndarray  # (P, 384) float32, L2-normalised
    n_arxiv_large: int  # rows 0..n-1 are real papers 0..n-1 of the corpus
    sources: dict[str, int]
    neighbours: np.ndarray  # (P, 10) nearest other pool rows
    chol: np.ndarray  # Cholesky factor of the pool's covariance, for shaped noise
    sigma: float  # noise scale from calibration
    calibration: dict[str, float]


def _top_k(queries: np.ndarray, base: np.ndarray, k: int, exclude_self: bool = False) -> np.ndarray:
    """Exact top-k (indices and sims) by cosine, in blocks of queries."""
    out_i = np.zeros((len(queries), k), dtype=np.int64)
    out_s = np.zeros((len(queries), k), dtype=np.float32)
    for s in range(0, len(queries), 1024):
        sims = queries[s : s + 1024] @ base.T
        if exclude_self:
            rows = np.arange(len(sims))
            sims[rows, rows + s] = -2
        idx = np.argpartition(-sims, k, axis=1)[:, :k]
        part = np.take_along_axis(sims, idx, axis=1)
        order = np.argsort(-part, axis=1)
        out_i[s : s + 1024] = np.take_along_axis(idx, order, axis=1)
        out_s[s : s + 1024] = np.take_along_axis(part, order, axis=1)
    return np.stack([out_i, out_s.astype(np.float64)], axis=0)


MIX = 9  # neighbours mixed into each synthetic vector, besides its base


def _synth(
    base: np.ndarray,
    neighbours: np.ndarray,
    chol: np.ndarray,
    sigma: float,
    rng: np.random.Generator,
    n: int,
) -> np.ndarray:
    """Synthetic vectors: a random convex mix of a real vector and real neighbours of it, plus
    Gaussian noise shaped like the real vectors' covariance (so it stays on their subspace)."""
    a = rng.integers(len(base), size=n)
    picks = neighbours[a[:, None], rng.integers(neighbours.shape[1], size=(n, MIX))]
    members = np.concatenate([a[:, None], picks], axis=1)
    w = rng.dirichlet(np.ones(MIX + 1), size=n).astype(np.float32)
    v = np.einsum("nk,nkd->nd", w, base[members])
    z = rng.standard_normal((n, base.shape[1]), dtype=np.float32) @ chol.T
    z /= np.sqrt(np.trace(chol @ chol.T))  # unit expected norm
    v += sigma * z
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def _covariance_factor(vectors: np.ndarray) -> np.ndarray:
    cov = np.cov((vectors - vectors.mean(axis=0)).T)
    return np.linalg.cholesky(cov + 1e-6 * np.eye(len(cov))).astype(np.float32)


def _calibrate(vectors: np.ndarray) -> tuple[float, dict[str, float]]:
    """Pick the noise scale so synthetic vectors sit among real ones as new real papers do.

    Hold out 20% of the pool; for each held-out real paper, the similarity of its 1st and 10th
    nearest neighbour among the other 80% is the target. Synthetic vectors made from that 80%
    should show the same; the noise scale that matches best wins.
    """
    rng = np.random.default_rng(SEED)
    perm = rng.permutation(len(vectors))
    cut = int(0.8 * len(vectors))
    a, b = vectors[perm[:cut]], vectors[perm[cut:]]
    real = _top_k(b, a, 10)[1]
    target = (float(real[:, 0].mean()), float(real[:, 9].mean()))
    nn_a = _top_k(a, a, 10, exclude_self=True)[0].astype(np.int64)
    chol = _covariance_factor(a)
    best: tuple[float, float, tuple[float, float]] = (1e9, 0.0, (0.0, 0.0))
    for sigma in np.arange(0.3, 1.21, 0.05):
        syn = _synth(a, nn_a, chol, float(sigma), np.random.default_rng(SEED + 1), len(b))
        got = _top_k(syn, a, 10)[1]
        stats = (float(got[:, 0].mean()), float(got[:, 9].mean()))
        err = (stats[0] - target[0]) ** 2 + (stats[1] - target[1]) ** 2
        if err < best[0]:
            best = (err, float(sigma), stats)
    return best[1], {
        "real_top1_cos": round(target[0], 4),
        "real_top10_cos": round(target[1], 4),
        "synthetic_top1_cos": round(best[2][0], 4),
        "synthetic_top10_cos": round(best[2][1], 4),
    }


def vector_pool(rows: list[dict[str, Any]]) -> Pool:
    path = REAL_DIR / "pool.npz"
    if not path.exists():
        chunks = _chunk_paths()
        arxiv = (
            np.concatenate([np.load(c).astype(np.float32) for c in chunks])
            if chunks
            else np.zeros((0, DIM), dtype=np.float32)
        )
        demo = np.load(ROOT / "papersift" / "data" / "demo" / "vectors.npz")["vectors"]
        # arXiv papers only. SciFact's biomedical vectors were once added when the relevance
        # benchmark had cached them, so the pool depended on what else had run on the machine
        # (with them and 1,787 demo vectors, recall@10 at 2.7M was 0.958 at ef 1408; without
        # them and with 3,035 demo vectors, 0.926).
        vectors = np.concatenate([arxiv, demo.astype(np.float32)])
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        log(f"vector pool: {len(arxiv)} arxiv-large + {len(demo)} demo")
        sigma, calib = _calibrate(vectors)
        log(f"noise calibration: sigma {sigma:.2f} {calib}")
        nn = _top_k(vectors, vectors, 10, exclude_self=True)[0].astype(np.int32)
        np.savez(
            path,
            vectors=vectors.astype(np.float16),
            neighbours=nn,
            chol=_covariance_factor(vectors),
            sigma=sigma,
            n_arxiv_large=len(arxiv),
            sources=json.dumps({"arxiv-large": len(arxiv), "demo": len(demo)}),
            calibration=json.dumps(calib),
        )
    d = np.load(path)
    return Pool(
        vectors=d["vectors"].astype(np.float32),
        n_arxiv_large=int(d["n_arxiv_large"]),
        sources=json.loads(str(d["sources"])),
        neighbours=d["neighbours"],
        chol=d["chol"],
        sigma=float(d["sigma"]),
        calibration=json.loads(str(d["calibration"])),
    )


# --- the corpus: real papers, then synthetic ones -------------------------------------------

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_MONTHS = [(yy, mm) for yy in range(7, 25) for mm in range(1, 13) if (yy, mm) >= (7, 4)]
SYNTHETIC_SEQ0 = 80_000  # far above any month's real submissions: no id collides


class Corpus:
    """Paper ``pos`` (0-based) of the deterministic corpus, for every size at once."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.real_ids = {r["id"] for r in rows}
        self.sentences: dict[str, list[str]] = {}
        self.first: list[str] = []
        self.n_sentences: list[int] = []
        for r in rows:
            parts = _SENTENCE.split(r["abstract"]) if r["abstract"] else []
            self.first.append(parts[0] if parts else "")
            self.n_sentences.append(len(parts))
            cat = r["categories"][0] if r["categories"] else ""
            self.sentences.setdefault(cat, []).extend(parts[1:])
        self.authors = [a for r in rows for a in r["authors"]]
        self.by_cat_titles: dict[str, list[str]] = {}
        for r in rows:
            cat = r["categories"][0] if r["categories"] else ""
            self.by_cat_titles.setdefault(cat, []).append(r["title"])

    def arxiv_id(self, pos: int) -> str:
        if pos < len(self.rows):
            return str(self.rows[pos]["id"])
        j = pos - len(self.rows)
        yy, mm = _MONTHS[j % len(_MONTHS)]
        return f"{yy:02d}{mm:02d}.{SYNTHETIC_SEQ0 + j // len(_MONTHS):05d}"

    def record(self, pos: int) -> Any:
        from papersift.records import PaperRecord

        if pos < len(self.rows):
            r = self.rows[pos]
            return PaperRecord(
                title=r["title"],
                abstract=r["abstract"],
                authors=list(r["authors"]),
                arxiv_id=r["id"],
                categories=list(r["categories"]),
                comment=r["comment"],
                published=date.fromisoformat(r["day"]),
                source="arxiv-large",
            )
        rng = random.Random(SEED * 1_000_003 + pos)
        b = rng.randrange(len(self.rows))
        base = self.rows[b]
        cat = base["categories"][0] if base["categories"] else ""
        pool = self.sentences.get(cat) or self.sentences[""]
        n = self.n_sentences[rng.randrange(len(self.rows))]
        first = self.first[rng.randrange(len(self.rows))] if not base["abstract"] else None
        head = first or self.first[b]
        body = [pool[rng.randrange(len(pool))] for _ in range(max(0, n - 1))] if pool else []
        words = base["title"].split()
        other = rng.choice(self.by_cat_titles.get(cat) or self.by_cat_titles[""]).split()
        cut = max(1, len(words) // 2 + rng.randint(-1, 1))
        title = " ".join(words[:cut] + other[len(other) // 2 :])
        n_auth = len(self.rows[rng.randrange(len(self.rows))]["authors"]) or 1
        arxiv_id = self.arxiv_id(pos)
        yy, mm = int(arxiv_id[:2]), int(arxiv_id[2:4])
        return PaperRecord(
            title=title,
            abstract=" ".join([head, *body]),
            authors=[rng.choice(self.authors) for _ in range(n_auth)],
            arxiv_id=arxiv_id,
            categories=list(base["categories"]),
            published=date(2000 + yy, mm, 1) + timedelta(days=rng.randrange(28)),
            source="scale-synthetic",
        )

    def records(self, start: int, stop: int) -> Iterator[Any]:
        for pos in range(start, stop):
            yield self.record(pos)


def corpus_vectors(pool: Pool, start: int, stop: int) -> np.ndarray:
    """Vectors of papers ``start..stop``: real ones for embedded real papers, else synthetic.

    Made in aligned blocks with a per-block seed, so a paper's vector is the same in every size.
    """
    block = 10_000
    out = np.zeros((stop - start, DIM), dtype=np.float32)
    for b0 in range(start - start % block, stop, block):
        rng = np.random.default_rng([SEED, 7, b0])
        syn = _synth(pool.vectors, pool.neighbours, pool.chol, pool.sigma, rng, block)
        real = max(0, min(pool.n_arxiv_large - b0, block))
        if real:
            syn[:real] = pool.vectors[b0 : b0 + real]
        lo, hi = max(start, b0), min(stop, b0 + block)
        out[lo - start : hi - start] = syn[lo - b0 : hi - b0]
    return out


# --- building one size ------------------------------------------------------------------------


def build_dir(n: int) -> Path:
    return CACHE / f"scale-{size_name(n)}"


def _read_state(d: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((d / "bench-state.json").read_text()))
    except FileNotFoundError:
        return {}


def _write_state(d: Path, state: dict[str, Any]) -> None:
    tmp = d / "bench-state.tmp"
    tmp.write_text(json.dumps(state, indent=1))
    tmp.replace(d / "bench-state.json")


class StageClock:
    """papersift's progress callback as tqdm bars, noting when each stage first/last reported."""

    def __init__(self, offset: int = 0) -> None:
        self.bars: dict[str, Any] = {}
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.offset = offset

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        self.first.setdefault(stage, now)
        self.last[stage] = now
        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(
                desc=stage, total=total or None, unit=" papers", dynamic_ncols=True, mininterval=2
            )
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _seed_from_smaller(d: Path, n: int) -> None:
    """Start a new size from a copy of the largest finished smaller build (same first papers)."""
    if d.exists():
        return
    smaller = sorted(
        (p for p in CACHE.glob("scale-*") if p.is_dir() and p.name != "scale-real"),
        key=lambda p: _read_state(p).get("n", 0),
    )
    for p in reversed(smaller):
        st = _read_state(p)
        if st.get("complete") and st.get("n", 0) < n:
            log(f"starting {size_name(n)} from a copy of {p.name} ({st['n']:,} papers)")
            shutil.copytree(p, d)
            st2 = dict(st, n=n, complete=False, seeded_from=p.name)
            _write_state(d, st2)
            return


def build(
    n: int, corpus: Corpus, pool: Pool, budget_s: float, real_ingest_max: int
) -> dict[str, Any]:
    """Land papers and import vectors up to ``n``, resuming; stop when the budget is spent.

    Papers below ``real_ingest_max`` go through papersift's ingest service; the rest through
    :func:`bulk_land` (same rows, one bulk INSERT per batch) and the catalog's keyword sync.
    """
    from papersift.config import Settings
    from papersift.service.catalog import Catalog

    d = build_dir(n)
    _seed_from_smaller(d, n)
    d.mkdir(parents=True, exist_ok=True)
    state = _read_state(d) or {"n": n}
    blank = {"papers": 0, "store_s": 0.0, "keyword_s": 0.0, "runs": 0, "problems": 0}
    state.setdefault("ingest", dict(blank))
    state.setdefault("bulk", dict(blank))
    state.setdefault("landed", state["ingest"]["papers"])
    state.setdefault("vectors", {"papers": 0, "seconds": 0.0, "unknown": 0, "rejected": 0})
    started = time.perf_counter()
    catalog = Catalog(Settings(data_dir=d))
    slice_n = 100_000
    try:
        while state["landed"] < n and time.perf_counter() - started < budget_s:
            lo = state["landed"]
            real = lo < real_ingest_max
            hi = min(n, lo + slice_n, real_ingest_max if real else n)
            how = "ingest service" if real else "bulk insert"
            log(f"{size_name(n)}: papers {lo:,}..{hi:,} ({how})")
            clock = StageClock()
            t0 = time.perf_counter()
            if real:
                problems = _ingest_slice(catalog, corpus, lo, hi, clock)
            else:
                problems = bulk_land(catalog, corpus, lo, hi, clock)
            t1 = time.perf_counter()
            clock.close()
            store_end = clock.last.get("ingest", t1)
            seg = state["ingest" if real else "bulk"]
            seg["store_s"] += store_end - t0
            seg["keyword_s"] += t1 - store_end
            seg["papers"] += hi - lo
            seg["runs"] += 1
            seg["problems"] += problems
            state["landed"] = hi
            _write_state(d, state)
            log(
                f"  {hi - lo:,} papers, {problems} problems in {t1 - t0:.0f}s "
                f"({(hi - lo) / (t1 - t0):.0f} papers/s; store {store_end - t0:.0f}s, "
                f"keyword index {t1 - store_end:.0f}s)"
            )
        vec = state["vectors"]
        vec_slice = 200_000
        while (
            state["landed"] >= n and vec["papers"] < n and time.perf_counter() - started < budget_s
        ):
            lo, hi = vec["papers"], min(n, vec["papers"] + vec_slice)
            log(f"{size_name(n)}: importing vectors {lo:,}..{hi:,}")
            clock = StageClock()
            t0 = time.perf_counter()
            rep = catalog.import_vector_chunks(
                _vector_chunks(corpus, pool, lo, hi), total=hi - lo, progress=clock
            )
            dt = time.perf_counter() - t0
            clock.close()
            vec["papers"] = hi
            vec["seconds"] += dt
            vec["unknown"] += rep.unknown
            vec["rejected"] += rep.rejected
            _write_state(d, state)
            log(f"  imported {rep.imported:,} in {dt:.0f}s ({rep.imported / dt:.0f}/s)")
        if state["landed"] >= n and vec["papers"] >= n and not state.get("complete"):
            _finish(catalog, d, corpus, pool, n)
            state["complete"] = True
            _write_state(d, state)
    finally:
        catalog.close()
    state["build_s_this_run"] = round(time.perf_counter() - started, 1)
    return state


def build_indexes_only(n: int, corpus: Corpus, pool: Pool, budget_s: float) -> dict[str, Any]:
    """The two indexes alone, written through papersift's index classes, without the SQL store.

    For sizes whose store build (ingest service, embedding cache) takes longer than this machine
    allows: keys are corpus position + 1, the ``num`` the store gives papers landed in order
    (checked on the full builds' ``nums.npy``). Measured at index level only.
    """
    from papersift.index.keyword import KeywordDoc, KeywordIndex
    from papersift.index.vector import VectorIndex
    from papersift.service.catalog import EPOCH

    d = build_dir(n)
    if not d.exists():
        smaller = _largest_finished(n)
        d.mkdir(parents=True)
        if smaller is not None:
            log(f"starting {size_name(n)} from a copy of {smaller.name}'s indexes")
            shutil.copytree(smaller / "index", d / "index")
            st = _read_state(smaller)
            _write_state(
                d,
                {
                    "n": n,
                    "mode": "index-only",
                    "seeded_from": smaller.name,
                    "keyword": {"papers": st["n"], "seconds": 0.0, "seeded": st["n"]},
                    "vectors": {"papers": st["n"], "seconds": 0.0, "seeded": st["n"]},
                },
            )
    state = _read_state(d) or {"n": n, "mode": "index-only"}
    state.setdefault("keyword", {"papers": 0, "seconds": 0.0, "seeded": 0})
    state.setdefault("vectors", {"papers": 0, "seconds": 0.0, "seeded": 0})
    started = time.perf_counter()
    model = "all-MiniLM-L6-v2"
    kw = KeywordIndex(d / "index" / "keyword")
    vec = VectorIndex(d / "index" / f"vectors-{model}.usearch", DIM, model)
    step = 100_000
    ks, vs = state["keyword"], state["vectors"]
    while time.perf_counter() - started < budget_s and (ks["papers"] < n or vs["papers"] < n):
        if vs["papers"] <= ks["papers"] and vs["papers"] < n:
            lo, hi = vs["papers"], min(n, vs["papers"] + step)
            t0 = time.perf_counter()
            for s0 in tqdm(range(lo, hi, 10_000), desc=f"vectors {lo:,}..{hi:,}", unit=" x10k"):
                e0 = min(hi, s0 + 10_000)
                vec.upsert(list(range(s0 + 1, e0 + 1)), corpus_vectors(pool, s0, e0))
            vec.save()
            vs["seconds"] += time.perf_counter() - t0
            vs["papers"] = hi
        else:
            lo, hi = ks["papers"], min(n, ks["papers"] + step)
            t0 = time.perf_counter()
            docs = []
            for pos in tqdm(range(lo, hi), desc=f"keyword {lo:,}..{hi:,}", mininterval=2):
                # Corpus text is clean already (whitespace collapsed), so the record goes to the
                # index as is; clean_record costs as much as making the record on this machine.
                c = corpus.record(pos)
                docs.append(
                    KeywordDoc(
                        num=pos + 1,
                        title=c.title,
                        abstract=c.abstract,
                        authors=list(c.authors),
                        categories=list(c.categories),
                        year=c.published.year if c.published else None,
                        day=(c.published - EPOCH).days if c.published else None,
                        has_code="github.com" in c.abstract,
                    )
                )
            kw.upsert(docs)
            kw.commit()
            ks["seconds"] += time.perf_counter() - t0
            ks["papers"] = hi
        _write_state(d, state)
        done = time.perf_counter() - t0
        log(f"  {size_name(n)} {hi - lo:,} papers in {done:.0f}s ({(hi - lo) / done:.0f}/s)")
    if ks["papers"] >= n and vs["papers"] >= n and not state.get("complete"):
        np.save(d / "nums.npy", np.arange(1, n + 1, dtype=np.int64))
        _write_f16(d, pool, n)
        state["complete"] = True
        _write_state(d, state)
    state["build_s_this_run"] = round(time.perf_counter() - started, 1)
    return state


def _write_f16(d: Path, pool: Pool, n: int, path: Path | None = None) -> None:
    """The first n corpus vectors as float16, for exact search."""
    path = path or d / "vectors.npy"
    tmp = path.with_suffix(".tmp.npy")
    out = np.lib.format.open_memmap(tmp, "w+", np.float16, (n, DIM))
    for s0 in range(0, n, 100_000):
        out[s0 : s0 + 100_000] = corpus_vectors(pool, s0, min(n, s0 + 100_000))
    out.flush()
    del out
    tmp.replace(path)


def _largest_finished(n: int) -> Path | None:
    done = [
        p
        for p in CACHE.glob("scale-*")
        if p.is_dir() and _read_state(p).get("complete") and _read_state(p).get("n", 0) < n
    ]
    return max(done, key=lambda p: _read_state(p)["n"]) if done else None


def _ingest_slice(catalog: Any, corpus: Corpus, lo: int, hi: int, clock: StageClock) -> int:
    """Papers through ``service.ingesting.ingest``: cleaning, dedup, upsert, keyword sync."""
    from papersift.service.ingesting import ingest

    report = ingest(
        catalog,
        corpus.records(lo, hi),
        source="scale",
        location=f"benchmarks/scale.py {lo}..{hi}",
        embed=False,
        progress=clock,
    )
    return report.problems


def bulk_land(catalog: Any, corpus: Corpus, lo: int, hi: int, clock: StageClock) -> int:
    """The rows the ingest service would write, as bulk INSERTs, then the real keyword sync.

    For sizes where the service's per-batch dedup lookups and ORM flushes take longer than this
    machine allows: the corpus's ids are distinct by construction, so there is nothing to merge.
    Rows are made by papersift's own cleaning and id/hash functions.
    """
    from sqlalchemy import insert

    from papersift.ids import paper_id, title_key
    from papersift.ingest.normalize import InvalidRecord, clean_record
    from papersift.store.papers import text_hash
    from papersift.store.schema import Paper

    problems = 0
    batch = 5_000
    for s0 in range(lo, hi, batch):
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = []
        for r in corpus.records(s0, min(hi, s0 + batch)):
            try:
                c = clean_record(r)
            except InvalidRecord:
                problems += 1
                continue
            rows.append(
                {
                    "id": paper_id(c),
                    "arxiv_id": c.arxiv_id,
                    "arxiv_version": c.version,
                    "title": c.title,
                    "title_key": title_key(c.title),
                    "abstract": c.abstract,
                    "authors": list(c.authors),
                    "categories": list(c.categories),
                    "primary_category": c.categories[0] if c.categories else None,
                    "published": c.published or c.updated,
                    "updated": c.updated,
                    "comment": c.comment,
                    "journal_ref": c.journal_ref,
                    "abs_url": c.abs_url,
                    "pdf_url": c.pdf_url,
                    "doi": c.doi,
                    "code_urls": list(c.code_urls),
                    "sources": [c.source] if c.source else [],
                    "extra": dict(c.extra),
                    "text_hash": text_hash(c.title, c.abstract),
                    "ingested_at": now,
                    "modified_at": now,
                }
            )
        with catalog.store.session() as s:
            s.execute(insert(Paper), rows)
        clock("ingest", min(hi, s0 + batch) - lo, hi - lo)
    catalog.sync(embed=False, progress=clock)
    return problems


def _vector_chunks(corpus: Corpus, pool: Pool, lo: int, hi: int) -> Iterator[Any]:
    for s in range(lo, hi, 10_000):
        e = min(hi, s + 10_000)
        yield [f"arxiv:{corpus.arxiv_id(p)}" for p in range(s, e)], corpus_vectors(pool, s, e)


def _finish(catalog: Any, d: Path, corpus: Corpus, pool: Pool, n: int) -> None:
    """Keys of the HNSW index per corpus position, and the f16 vectors for exact search."""
    from sqlalchemy import select

    from papersift.store.schema import Paper

    log("mapping paper nums to corpus positions; writing f16 vectors for exact search")
    with catalog.store.session() as s:
        id_num = dict(s.execute(select(Paper.arxiv_id, Paper.num)).all())
    nums = np.array([id_num.get(corpus.arxiv_id(p), 0) for p in range(n)], dtype=np.int64)
    np.save(d / "nums.npy", nums)
    _write_f16(d, pool, n)


# --- measuring one size -------------------------------------------------------------------------


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
    from papersift.index.vector import RERANK_DEPTH, VectorIndex, expansion_search_for
    from papersift.service import catalog as catalog_module
    from papersift.service import searching
    from papersift.service.catalog import Catalog

    n = parse_size(args.size)
    d = build_dir(n)
    state = _read_state(d)
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
            _write_f16(d, vector_pool(rows), n_vectors, rows_path)
        nums = np.arange(1, n_vectors + 1, dtype=np.int64)
    else:
        rows_path, nums = d / "vectors.npy", np.load(d / "nums.npy")
    title_idx = [i for i, (kind, _) in enumerate(queries) if kind == "title"]
    qv = qvecs[title_idx]
    truth = nums[exact_top10(rows_path, qv)]
    default_ef = expansion_search_for(n_vectors)
    sweep = []
    for ef in sorted({64, 128, 192, 256, 384, 512, 768, 1024, 1536, default_ef}):
        vec_index.ef_search = ef
        for k, rerank in ((10, 0), (10, RERANK_DEPTH), (depth, 0), (depth, depth)):
            got, times = [], []
            for v in qv:
                t0 = time.perf_counter()
                hits = vec_index.search(v, k, rerank=rerank)
                times.append((time.perf_counter() - t0) * 1000)
                got.append([h for h, _ in hits[:10]])
            rec = float(
                np.mean([len(set(g) & set(tr)) / 10 for g, tr in zip(got, truth, strict=True)])
            )
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
            "expansion_add": vec_index.index.expansion_add,
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
    }
    (d / "measure.json").write_text(json.dumps(result, indent=1))
    if catalog is not None:
        catalog.close()
    log(f"measured {size_name(n)}: {json.dumps(result['latency_ms'])} recall {at_default}")


# --- running, tuning and reporting -------------------------------------------------------------


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem / 2**30, 1),
        "python": platform.python_version(),
        "usearch": version("usearch"),
        "tantivy": version("tantivy"),
        "onnxruntime": version("onnxruntime"),
    }


def composition(n: int, corpus: Corpus, pool: Pool) -> dict[str, int]:
    real = min(n, len(corpus.rows))
    real_vec = min(n, pool.n_arxiv_large)
    return {
        "real_papers": real,
        "synthetic_papers": n - real,
        "real_vectors": real_vec,
        "synthetic_vectors": n - real_vec,
    }


def cmd_run(args: argparse.Namespace) -> None:
    import subprocess

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
            for ef in (32, 64, 96, 128, 160, 192, 256, 384):
                idx.ef_search = ef
                for k, rerank in ((10, 0), (10, 64), (100, 100)):
                    got, times = [], []
                    for v in qv:
                        t = time.perf_counter()
                        hits = idx.search(v, k, rerank=rerank)
                        times.append((time.perf_counter() - t) * 1000)
                        got.append([h for h, _ in hits[:10]])
                    rec = float(
                        np.mean(
                            [len(set(g) & set(tr)) / 10 for g, tr in zip(got, truth, strict=True)]
                        )
                    )
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


def _extrapolate(xs: list[int], ys: list[float], n: int, kind: str) -> float:
    """Least squares on log N (kind 'log') or N (kind 'lin'); needs two measured sizes."""
    a = np.log(xs) if kind == "log" else np.asarray(xs, dtype=float)
    coef = np.polyfit(a, ys, 1)
    return float(np.polyval(coef, np.log(n) if kind == "log" else n))


def report(rows: list[dict[str, Any]], pool: Pool, corpus: Corpus) -> None:
    sizes = []
    builds = [p for p in CACHE.glob("scale-*") if p.is_dir()]
    for d in sorted(builds, key=lambda p: _read_state(p).get("n", 0)):
        st = _read_state(d)
        if d.name == "scale-real" or not st:
            continue
        m_path = d / "measure.json"
        m = json.loads(m_path.read_text()) if m_path.exists() else None
        n = m["n"] if m else st["n"]
        status = "incomplete"
        if m and (st.get("complete") or m.get("partial_build_of")):
            status = "measured" if st.get("complete") else f"measured part of the {d.name} build"
        entry: dict[str, Any] = {
            "n": n,
            "status": status,
            "composition": composition(n, corpus, pool),
            "build": {k: st.get(k) for k in ("ingest", "bulk", "vectors", "seeded_from")},
        }
        for seg_name, label in (("ingest", "ingest_service"), ("bulk", "bulk_insert")):
            seg = st.get(seg_name)
            if seg and seg["papers"] and seg["store_s"] + seg["keyword_s"] > 0:
                entry[label] = {
                    "papers": seg["papers"],
                    "papers_per_s": round(seg["papers"] / (seg["store_s"] + seg["keyword_s"]), 1),
                    "store_papers_per_s": round(seg["papers"] / max(seg["store_s"], 1e-9), 1),
                    "keyword_index_papers_per_s": round(
                        seg["papers"] / max(seg["keyword_s"], 1e-9), 1
                    ),
                }
        vec = st["vectors"]
        if vec["seconds"]:
            entry["vector_index_papers_per_s"] = round(
                (vec["papers"] - vec.get("seeded", 0)) / vec["seconds"], 1
            )
        kwb = st.get("keyword")
        if kwb and kwb["seconds"]:
            entry["keyword_index_papers_per_s"] = round(
                (kwb["papers"] - kwb.get("seeded", 0)) / kwb["seconds"], 1
            )
        entry["build_mode"] = st.get("mode", "store + indexes")
        if m:
            entry["measured"] = m
        sizes.append(entry)
    measured = [s for s in sizes if s["status"].startswith("measured")]
    extrapolated = []
    targets = [t for t in (1_000_000, 2_700_000) if not any(s["n"] >= t for s in measured)]
    for n in targets if len(measured) >= 2 else []:
        xs = [s["n"] for s in measured]
        ms = [s["measured"] for s in measured]
        ex: dict[str, Any] = {"n": n, "status": "extrapolated"}
        for key in ("latency_ms", "latency_best_of_3_ms"):
            if not all(key in m for m in ms):
                continue
            ex[key] = {}
            last = ms[-1][key]
            qs = ("p50", "p95", "p99")
            for leg, fit in (("keyword", "lin"), ("vector", "log")):  # postings ~N, HNSW ~log N
                ex[key][leg] = {
                    q: round(_extrapolate(xs, [m[key][leg][q] for m in ms], n, fit), 2) for q in qs
                }
            # Embedding a query does not depend on N: the median of the measured sizes.
            ex[key]["embed"] = {
                q: round(float(np.median([m[key]["embed"][q] for m in ms])), 2) for q in qs
            }
            # Hybrid: the largest measured size plus what the two legs add (an estimate).
            ex[key]["hybrid"] = {
                q: round(
                    last["hybrid"][q]
                    + ex[key]["keyword"][q]
                    - last["keyword"][q]
                    + ex[key]["vector"][q]
                    - last["vector"][q],
                    2,
                )
                for q in qs
            }
        ex["recall@10"] = {
            k: round(_extrapolate(xs, [m["recall@10"][k] for m in ms], n, "log"), 4)
            for k in ms[-1]["recall@10"]
        }
        ex["bytes_per_paper"] = ms[-1]["bytes_per_paper"]
        ex["method"] = (
            "least squares through the measured sizes: keyword latency linear in N, vector "
            "latency and recall linear in log N (recall at the size-aware ef of "
            "papersift.index.vector.expansion_search_for); query embedding the median of the "
            "measured sizes; hybrid = largest measured hybrid + the two legs' growth; "
            "bytes/paper as at the largest measured size"
        )
        extrapolated.append(ex)
    out = {
        "benchmark": "benchmarks/scale.py",
        "machine": machine(),
        "contention": (
            "2-core machine shared with other engineers' jobs (tests, builds, model export and "
            "distillation) during the runs: load average 8-14 during the builds, 4-7 during the "
            "measurements (load_avg_during in each); p95/p99 include scheduling stalls, the "
            "best-of-3 latencies (each query run 3 times, fastest kept) mostly remove them"
        ),
        "data": {
            "real_papers_available": len(rows),
            "vector_pool": pool.sources,
            "noise_sigma": pool.sigma,
            "noise_calibration": pool.calibration,
            "what_is_synthetic": (
                "papers beyond the real arxiv-large records are synthetic (real sentences, "
                "title halves, authors and categories recombined); every vector except those of "
                "the pool's arxiv-large rows is synthetic (a random convex mix of a real MiniLM "
                "vector and 9 of its real neighbours, plus noise shaped by the real vectors' "
                "covariance, scaled so nearest-neighbour similarities match held-out real "
                "papers); queries are real titles and 3-word phrases, embedded with the shipped "
                "ONNX encoder"
            ),
        },
        "sizes": sizes,
        "extrapolated": extrapolated,
        "hnsw_tuning": {
            p.stem.removeprefix("scale-tune-"): json.loads(p.read_text())
            for p in sorted(CACHE.glob("scale-tune-*.json"))
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(out, indent=1))
    print_table(out)
    plot(out)


def _trio(d: dict[str, float] | None, qs: tuple[str, ...] = ("p50", "p95", "p99")) -> str:
    return "/".join(f"{d[q]:.1f}" for q in qs) if d else "-"


def print_table(out: dict[str, Any]) -> None:
    """Two markdown tables: building and size, then queries."""
    cols = [
        "N",
        "built as",
        "papers real/synthetic",
        "vectors real/synthetic",
        "ingest papers/s (service / bulk)",
        "index build papers/s (keyword / vector)",
        "disk MB (keyword / usearch + f16 rows / SQLite)",
        "vector index B/paper in RAM (RSS, mapped file counted whole / usearch's own count)",
    ]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for s in out["sizes"]:
        c = s["composition"]
        m = s.get("measured") or {}
        db, bp = m.get("disk_bytes"), m.get("bytes_per_paper")
        ing = [s.get("ingest_service"), s.get("bulk_insert")]
        kw_rate = s.get("keyword_index_papers_per_s") or next(
            (g["keyword_index_papers_per_s"] for g in ing if g), None
        )
        row = [
            f"{s['n']:,}",
            s["build_mode"] + ("" if s["status"] == "measured" else f" ({s['status']})"),
            f"{c['real_papers']:,} / {c['synthetic_papers']:,}",
            f"{c['real_vectors']:,} / {c['synthetic_vectors']:,}",
            " / ".join(f"{g['papers_per_s']:,.0f}" if g else "-" for g in ing),
            f"{kw_rate or 0:,.0f} / {s.get('vector_index_papers_per_s', 0):,.0f}",
            (
                f"{db['keyword_index'] / 1e6:,.0f} / "
                f"{db['vector_index'] / 1e6:,.0f} + {db.get('vector_rows_f16', 0) / 1e6:,.0f} / "
                f"{db['sqlite'] / 1e6:,.0f}"
                if db
                else "-"
            ),
            f"{bp['vector_index_rss']:.0f} / {bp['vector_index_usearch']:.0f}" if bp else "-",
        ]
        print("| " + " | ".join(row) + " |")
    print()
    cols = [
        "N",
        "keyword p50/p95/p99 ms",
        "vector p50/p95/p99 ms",
        "query embedding p50/p95/p99 ms",
        "hybrid p50/p95/p99 ms",
        "best of 3: keyword / hybrid p50/p95/p99 ms",
        "service hybrid p50/p95/p99 ms",
        "recall@10 k=10 / k=100 / int8 only",
    ]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    rows = [(f"{s['n']:,}", s["measured"]) for s in out["sizes"] if "measured" in s]
    rows += [(f"{ex['n']:,} (extrapolated)", ex) for ex in out["extrapolated"]]
    for name, m in rows:
        lat_, best = m.get("latency_ms", {}), m.get("latency_best_of_3_ms") or {}
        svc = m.get("service_latency_ms") or {}
        r = m["recall@10"]
        row = [
            name,
            _trio(lat_.get("keyword")),
            _trio(lat_.get("vector")),
            _trio(lat_.get("embed")),
            _trio(lat_.get("hybrid")),
            f"{_trio(best.get('keyword'))} / {_trio(best.get('hybrid'))}",
            _trio(svc.get("hybrid")),
            f"{r.get('k=10', 0):.3f} / {r.get('k=100', 0):.3f} / {r.get('k=10, int8 only', 0):.3f}",
        ]
        print("| " + " | ".join(row) + " |")


def plot(out: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = [s for s in out["sizes"] if "measured" in s]
    if not measured:
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = [s["n"] for s in measured]
    styles = {"keyword": "tab:blue", "vector": "tab:orange", "hybrid": "tab:green"}
    for leg, color in styles.items():
        for q, ls in (("p50", "-"), ("p95", "--")):
            ys = [s["measured"]["latency_ms"][leg][q] for s in measured]
            ax.plot(xs, ys, ls, marker="o", color=color, label=f"{leg} {q}")
            for ex in out["extrapolated"]:
                ax.plot(
                    [xs[-1], ex["n"]],
                    [ys[-1], ex["latency_ms"][leg][q]],
                    ":",
                    marker="x",
                    color=color,
                )
    ax.axhline(50, color="grey", lw=0.8)
    ax.axhline(10, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("papers (N)")
    ax.set_ylabel("latency, ms (2 CPU cores)")
    note = " (x: extrapolated)" if out["extrapolated"] else ""
    ax.set_title(f"papersift query latency vs corpus size{note}; grey: 10 and 50 ms targets")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(RESULTS / "scale.png", dpi=120)


def cmd_report(args: argparse.Namespace) -> None:
    rows = real_records()
    pool = vector_pool(rows)
    report(rows, pool, Corpus(rows))


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
