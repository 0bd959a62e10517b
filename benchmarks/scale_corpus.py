"""The scale benchmark's corpus: real arXiv records first, then seeded synthetic papers made
from their sentences, with vectors from a pool of real MiniLM vectors (see scale.py for what is
real and what is not)."""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

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
