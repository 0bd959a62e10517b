"""Building one size of the scale benchmark through papersift's own ingest and index code,
resumable: the state file says how far a build got, and a run continues from there."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scale_corpus import CACHE, DIM, Corpus, Pool, corpus_vectors, log, size_name
from tqdm import tqdm


def build_dir(n: int) -> Path:
    return CACHE / f"scale-{size_name(n)}"


def read_state(d: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((d / "bench-state.json").read_text()))
    except FileNotFoundError:
        return {}


def write_state(d: Path, state: dict[str, Any]) -> None:
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
        key=lambda p: read_state(p).get("n", 0),
    )
    for p in reversed(smaller):
        st = read_state(p)
        if st.get("complete") and st.get("n", 0) < n:
            log(f"starting {size_name(n)} from a copy of {p.name} ({st['n']:,} papers)")
            shutil.copytree(p, d)
            st2 = dict(st, n=n, complete=False, seeded_from=p.name)
            write_state(d, st2)
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
    state = read_state(d) or {"n": n}
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
            write_state(d, state)
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
            write_state(d, state)
            log(f"  imported {rep.imported:,} in {dt:.0f}s ({rep.imported / dt:.0f}/s)")
        if state["landed"] >= n and vec["papers"] >= n and not state.get("complete"):
            _finish(catalog, d, corpus, pool, n)
            state["complete"] = True
            write_state(d, state)
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
            st = read_state(smaller)
            write_state(
                d,
                {
                    "n": n,
                    "mode": "index-only",
                    "seeded_from": smaller.name,
                    "keyword": {"papers": st["n"], "seconds": 0.0, "seeded": st["n"]},
                    "vectors": {"papers": st["n"], "seconds": 0.0, "seeded": st["n"]},
                },
            )
    state = read_state(d) or {"n": n, "mode": "index-only"}
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
        write_state(d, state)
        done = time.perf_counter() - t0
        log(f"  {size_name(n)} {hi - lo:,} papers in {done:.0f}s ({(hi - lo) / done:.0f}/s)")
    if ks["papers"] >= n and vs["papers"] >= n and not state.get("complete"):
        np.save(d / "nums.npy", np.arange(1, n + 1, dtype=np.int64))
        write_f16(d, pool, n)
        state["complete"] = True
        write_state(d, state)
    state["build_s_this_run"] = round(time.perf_counter() - started, 1)
    return state


def write_f16(d: Path, pool: Pool, n: int, path: Path | None = None) -> None:
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
        if p.is_dir() and read_state(p).get("complete") and read_state(p).get("n", 0) < n
    ]
    return max(done, key=lambda p: read_state(p)["n"]) if done else None


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
    write_f16(d, pool, n)


# --- measuring one size -------------------------------------------------------------------------
