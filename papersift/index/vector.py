"""Approximate nearest-neighbour index over paper embeddings: int8 HNSW, then an exact re-rank.

Two files per model, both derived data that `papersift reindex` rebuilds from the store:

- ``vectors-<model>.usearch``: a usearch HNSW graph over int8 vectors. A reader memory-maps it
  (read-only, opened instantly); the first change loads it into memory. Mapped, its RAM is the
  file's pages, 532 bytes/paper for 384-d MiniLM, plus 16 bytes/paper that usearch allocates
  on opening (no key table: see :meth:`VectorIndex._writable`): 547-549 at 100k-2.7M papers,
  against 582-631 of process memory when loaded (DESIGN.md budget: <= 600). HNSW keeps
  queries in milliseconds where exact search costs ~700 ms at 2.7M papers.
- ``vectors-<model>.f16``: the same vectors as float16 rows, row ``num`` for paper ``num``,
  memory-mapped and never loaded whole. int8 alone caps recall@10 against exact search near
  0.87-0.92 (measured by ``benchmarks/scale.py`` at 100k-1M: quantisation blurs near-ties, and
  more ef does not help), so a search takes the HNSW's best :data:`RERANK_DEPTH` candidates
  and orders them by exact cosine over these rows, which reads well under 1 MB of the file.

A third, tiny file, ``vectors-<model>.build.json``, records how wide the graph was built, which
sets how wide it is searched (:mod:`papersift.index.hnsw_width`).

Keys are paper ``num``. A sidecar that is missing or shorter than a key (an index written before
it existed) falls back to the int8 scores for those keys.

Another process (``papersift embed`` from cron, beside a running ``serve``) replaces the graph
file whole; a reader without unsaved changes of its own notices the new file within
:data:`REFRESH_SECONDS` and maps it (:meth:`VectorIndex.refresh`). Two writers at once (an
ingest through the server while ``papersift embed`` runs) do not lose each other's papers:
saving takes a lock file, and a writer whose file was replaced since it loaded it replays its
own additions and removals onto the newer graph instead of overwriting it
(:meth:`VectorIndex.save`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

import onnxruntime  # noqa: F401  # isort: skip  (must precede usearch: DESIGN.md import-order crash)
from usearch.index import Index  # isort: skip

from papersift.index.hnsw_width import (
    CONNECTIVITY,
    EF_ADD,
    EF_SEARCH,
    expansion_search_for,
    read_built_with,
    record_path,
    write_built_with,
)

RERANK_DEPTH = 64  # HNSW candidates re-ranked exactly (at least k)
_GROW = 1.25  # sidecar capacity grows by this factor, so appends do not remap every batch
REFRESH_SECONDS = 1.0  # how often a reader looks for a graph file saved by another process


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (``flock``; a no-op where there is none)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _file_id(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class VectorIndex:
    def __init__(self, path: Path, dim: int, model_id: str) -> None:
        self.path = path
        self.dim = dim
        self.model_id = model_id
        self.exact_path = path.with_suffix(".f16")
        self._exact: np.memmap | None = None
        self.ef_search: int | None = None  # None: expansion_search_for(len(self), built_with)
        self.refresh_every = REFRESH_SECONDS
        self._next_check = 0.0
        self._unsaved = False  # changes only this process has: never swapped for the file's
        # What this copy changed since it was loaded, replayed onto a graph another process
        # saved meanwhile; ``_rebuilt`` (a reset) means this copy replaces the file instead.
        self._ops: list[tuple[bool, np.ndarray]] = []  # (added?, keys), in order: 8 B/key
        self._rebuilt = False
        self._file: tuple[int, int, int] | None = self._file_id()  # the file this copy is
        self.mapped = self._file is not None  # True: the graph is that file, mapped read-only
        self.index = self._mapped() if self.mapped else self._new()
        # How the graph was built (hnsw_width): a new one now; a file, as its record says.
        self._record: tuple[int, int, int] | None = None
        self.built_with = self._read_record() if self.mapped else EF_ADD

    def _file_id(self) -> tuple[int, int, int] | None:
        return _file_id(self.path)

    def _read_record(self) -> int:
        self._record = _file_id(record_path(self.path))
        return read_built_with(self.path)

    def default_ef(self) -> int:
        """The search width this graph gets unless :attr:`ef_search` pins one."""
        return expansion_search_for(len(self.index), self.built_with)

    def _mapped(self) -> Index:
        index = self._new(key_lookups=False)
        index.view(str(self.path))
        if index.ndim != self.dim:
            raise ValueError(f"vector index {self.path} has dim {index.ndim}, expected {self.dim}")
        return index

    def refresh(self) -> bool:
        """Map the graph file anew if another process has saved one since; True if it did.

        Checked at most every :attr:`refresh_every` seconds (a ``stat``), and only while this
        copy has no unsaved changes. Searches already running keep the graph they started
        with: the old file stays readable while mapped, since files are replaced whole.
        """
        now = time.monotonic()
        if self._unsaved or now < self._next_check:
            return False
        self._next_check = now + self.refresh_every
        found = self._file_id()
        remapped = found is not None and found != self._file
        if remapped:
            self.index, self.mapped, self._file = self._mapped(), True, found
        if _file_id(record_path(self.path)) != self._record:  # after the graph it describes
            self.built_with = self._read_record()
        return remapped

    def _writable(self) -> None:
        """Load the mapped graph into memory before the first change (a view is read-only).

        Readers never pay for this: a server maps the file, so opening is instant at any size,
        the graph's pages are the file's own page cache (shared by every worker process and
        reclaimable, where a loaded copy is private memory in each), and only a process that
        adds or removes papers copies it into memory. A mapped reader also skips usearch's
        key-to-node table (51 bytes/paper): searching never needs it, and a paper's vector
        is read from the float16 rows instead (:meth:`vectors_of`).
        """
        if self.mapped:
            loaded = self._new()
            # The id first: if the file is replaced during the load, save() merges (harmless).
            self._file = self._file_id()
            loaded.load(str(self.path))
            self.index = loaded
            self.mapped = False

    def _new(self, key_lookups: bool = True) -> Index:
        return Index(
            ndim=self.dim,
            metric="cos",
            dtype="i8",
            connectivity=CONNECTIVITY,
            expansion_add=EF_ADD,
            expansion_search=EF_SEARCH,
            enable_key_lookups=key_lookups,
        )

    def __len__(self) -> int:
        self.refresh()
        return len(self.index)

    def __contains__(self, num: int) -> bool:
        """Whether the graph holds the paper: a writer's question (syncing), so it loads."""
        self._writable()
        return bool(self.index.contains(num))

    def vectors_of(self, nums: Sequence[int] | np.ndarray) -> np.ndarray:
        """The papers' vectors, from the float16 rows (zeros for a paper the index lacks).

        For the rerank's cosines and dense feedback. An index written before the rows existed
        falls back to the graph's int8 copies, which needs the loaded graph's key table; with
        rows, a paper without one is not in the index (e.g. ingested, not yet embedded).
        """
        keys = np.asarray(nums, dtype=np.int64).reshape(-1)
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        if not len(keys):
            return out
        rows = self._rows(need=int(keys.max()) + 1)
        if rows is not None:
            inside = (keys >= 0) & (keys < len(rows))
            out[inside] = rows[keys[inside]]
            return out
        self._writable()
        wanted = keys[keys >= 0].astype(np.uint64)
        present = np.zeros(len(keys), dtype=bool)
        present[keys >= 0] = np.asarray(self.index.contains(wanted), dtype=bool).reshape(-1)
        if present.any():
            got = np.asarray(self.index.get(keys[present].astype(np.uint64)), dtype=np.float32)
            out[present] = got.reshape(int(present.sum()), -1)
        return out

    # -- the float16 rows for re-ranking ---------------------------------------------------------
    def _rows(self, writable: bool = False, need: int = 0) -> np.memmap | None:
        """The sidecar mapped with at least ``need`` rows (grown when writing), or None."""
        m = self._exact
        if m is not None and len(m) >= need and (not writable or m.mode == "r+"):
            return m
        row_bytes = self.dim * 2
        size = self.exact_path.stat().st_size if self.exact_path.exists() else 0
        if m is not None and not writable and size == m.size * 2:
            return m  # the file has not grown: keys beyond it have no row (yet)
        if m is not None:
            m.flush()
            self._exact = None
        created = writable and size == 0
        if writable and size < need * row_bytes:
            self.exact_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.exact_path, "ab") as f:
                f.truncate(int(need * _GROW + 1024) * row_bytes)  # sparse: zeros are "no row"
            size = self.exact_path.stat().st_size
        if size < row_bytes:
            return None
        self._exact = np.memmap(
            self.exact_path, dtype=np.float16, mode="r+" if writable else "r",
            shape=(size // row_bytes, self.dim),
        )  # fmt: skip
        if created and len(self.index):
            self._rows_from_graph(self._exact)
        return self._exact

    def _rows_from_graph(self, rows: np.memmap) -> None:
        """Fill a new sidecar with the graph's own (int8) vectors.

        An index written before the rows existed gets them on its first change; without this
        the rows would hold only the papers added since, and every older paper would read as
        "no vector" (zeros) in the rerank's features. The catalog then replaces them with the
        stored float16 vectors (:meth:`rows_present`, :meth:`write_rows`).
        """
        keys = np.asarray(self.index.keys, dtype=np.uint64)
        for start in range(0, len(keys), 50_000):
            part = keys[start : start + 50_000]
            got = np.asarray(self.index.get(part), dtype=np.float32).reshape(len(part), -1)
            got /= np.clip(np.linalg.norm(got, axis=1, keepdims=True), 1e-12, None)
            rows[part.astype(np.int64)] = got.astype(np.float16)

    def rows_present(self, nums: Sequence[int]) -> bool:
        """Whether these papers (ones with a stored vector) all have a float16 row.

        False for a rows file left by an earlier version that created it without the graph's
        older papers; the catalog then rewrites the rows from the store. Reads only the rows,
        so a mapped reader stays mapped. No rows file at all is fine: the graph answers, and
        the file is created, filled, on the first change.
        """
        keys = np.asarray(nums, dtype=np.int64)
        if not len(keys):
            return True
        rows = self._rows(need=int(keys.max()) + 1)
        if rows is None:
            return True
        if int(keys.max()) >= len(rows):
            return False
        return bool(np.asarray(rows[keys]).any(axis=1).all())

    def write_rows(self, nums: Sequence[int], vectors: np.ndarray) -> None:
        """Set papers' float16 rows without touching the graph (repairing the sidecar)."""
        if len(nums):
            self._write_rows(np.asarray(nums, dtype=np.int64), np.asarray(vectors, np.float32))
            if self._exact is not None:
                self._exact.flush()

    def _write_rows(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        rows = self._rows(writable=True, need=int(keys.max()) + 1)
        assert rows is not None
        rows[keys.astype(np.int64)] = vectors.astype(np.float16)

    # -- writing ---------------------------------------------------------------------------------
    def upsert(self, nums: Sequence[int], vectors: np.ndarray) -> None:
        if not len(nums):
            return
        keys = np.asarray(nums, dtype=np.uint64)
        vectors = np.asarray(vectors, dtype=np.float32)
        self._writable()
        self._unsaved = True
        self._remove_present(keys)
        self.index.add(keys, vectors)
        self._write_rows(keys, vectors)
        self._ops.append((True, keys.copy()))

    def remove(self, nums: Sequence[int]) -> None:
        if len(nums):
            self._writable()
            self._unsaved = True
            keys = np.asarray(nums, dtype=np.uint64)
            self._remove_present(keys)
            self._ops.append((False, keys.copy()))

    def _remove_present(self, keys: np.ndarray) -> None:
        present = keys[np.asarray(self.index.contains(keys), dtype=bool)]
        if len(present):
            self.index.remove(present)

    def save(self) -> None:
        """Write to a temporary file, then rename: readers never see a half-written index.

        Under a lock file, so two writers save one after the other. If another process saved
        the graph since this copy loaded it, this copy's own changes are replayed onto that
        newer graph (:meth:`_merge_saved`) rather than overwriting it and losing its papers.
        The float16 rows are written in place: a row newer than the saved graph is harmless,
        since rows are only read for keys the graph returns.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._exact is not None:
            self._exact.flush()
        if self.mapped:
            return  # unchanged since it was mapped from this very file
        with _locked(self.path.with_suffix(".lock")):
            on_disk = self._file_id()
            if on_disk is not None and on_disk != self._file and not self._rebuilt:
                self._merge_saved()
            tmp = self.path.with_suffix(".tmp")
            self.index.save(str(tmp))
            os.replace(tmp, self.path)
            self._file = self._file_id()
            write_built_with(self.path, self.built_with)
            self._record = _file_id(record_path(self.path))
        self._unsaved, self._rebuilt = False, False
        self._ops = []

    def _merge_saved(self) -> None:
        """Take the graph on disk and apply this copy's additions and removals to it.

        Vectors come from the float16 rows (exact, and shared with the other process: a paper
        both processes embedded gets the newer row). Costs one load of the graph, only when
        two processes wrote the same index between two saves.
        """
        merged = self._new()
        merged.load(str(self.path))
        # papers added with either width: searched as the narrower-built part needs
        self.built_with = min(self.built_with, read_built_with(self.path))
        for added, keys in self._ops:  # in order: a paper added, then removed, stays removed
            present = keys[np.asarray(merged.contains(keys), dtype=bool).reshape(-1)]
            if len(present):
                merged.remove(present)
            if added:
                merged.add(keys, self.vectors_of(keys.astype(np.int64)))
        self.index = merged

    def reset(self) -> None:
        self.index = self._new()
        self.built_with = EF_ADD
        self.mapped = False
        self._unsaved = True
        self._rebuilt = True
        self._ops = []
        self._exact = None
        self.exact_path.unlink(missing_ok=True)

    # -- reading ---------------------------------------------------------------------------------
    def search(
        self, vector: np.ndarray, k: int, *, rerank: int | None = None
    ) -> list[tuple[int, float]]:
        """``(num, cosine similarity)`` of the k nearest papers.

        ``rerank`` (default :data:`RERANK_DEPTH`) HNSW candidates, at least k, are ordered by
        exact cosine over the float16 rows; ``rerank=0`` returns the int8 HNSW order as is.
        """
        self.refresh()
        if len(self.index) == 0 or k <= 0:
            return []
        k = min(k, len(self.index))
        depth = RERANK_DEPTH if rerank is None else rerank
        ef = self.ef_search or self.default_ef()
        if self.index.expansion_search != ef:
            self.index.expansion_search = ef  # type: ignore[misc]  # settable at run time
        query = np.asarray(vector, dtype=np.float32).ravel()
        m = self.index.search(query, min(max(k, depth), len(self.index)))
        keys = np.asarray(m.keys, dtype=np.int64)
        sims = 1.0 - np.asarray(m.distances, dtype=np.float32)
        rows = self._rows(need=int(keys.max()) + 1) if depth and len(keys) else None
        if rows is not None:
            norm = float(np.linalg.norm(query)) or 1.0
            inside = keys < len(rows)
            exact = np.asarray(rows[keys[inside]], dtype=np.float32)
            have = np.zeros(len(keys), dtype=bool)
            have[inside] = exact.any(axis=1)  # an all-zero row was never written
            sims[have] = exact[have[inside]] @ query / norm
            order = np.argsort(-sims, kind="stable")[:k]
            keys, sims = keys[order], sims[order]
        return [(int(key), float(s)) for key, s in zip(keys[:k], sims[:k], strict=True)]
