"""The one object every face of papersift shares: the store, its indexes and the encoder.

Like datasette's ``Datasette``, a :class:`Catalog` is built once by the CLI or the web app and
passed to the service functions. Indexes are derived data kept in step with the store by
:meth:`Catalog.sync`, which catches up from a watermark of the newest change it has indexed, so
an ingest killed half-way leaves nothing a later run cannot repair.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from papersift.config import Settings
from papersift.embed.encoder import Encoder, encoder_model_id, load_encoder
from papersift.embed.precomputed import VectorImport, check_rows
from papersift.ids import normalize_doi, parse_arxiv_id
from papersift.index.keyword import KeywordDoc, KeywordIndex
from papersift.store import embeddings as emb
from papersift.store.db import Store
from papersift.store.papers import embed_text, iter_papers
from papersift.store.schema import Paper
from papersift.titles import ranked_title

if TYPE_CHECKING:
    from papersift.index.vector import VectorIndex

EPOCH = date(1970, 1, 1)
# A long embedding or import job saves the vector index this often: an interrupted job then
# resumes with at most this much HNSW work to redo (the vectors themselves are in the store).
# Saving writes the whole graph, ~2 s at 1M papers, so every 5 minutes costs under 1%.
VECTOR_SAVE_EVERY_S = 300.0
KEYWORD_COMMIT_EVERY_S = 300.0  # the same for a long keyword indexing pass (tantivy commits)
Progress = Callable[[str, int, int], None]  # (stage, done, total)


def keyword_doc(p: Paper) -> KeywordDoc:
    """What the keyword index holds of a paper (a title made of its abstract's opening words is
    left out: those words are indexed once, in the abstract)."""
    return KeywordDoc(
        num=p.num,
        title=ranked_title(p.title, p.abstract),
        abstract=p.abstract,
        authors=list(p.authors or []),
        categories=list(p.categories or []),
        year=p.published.year if p.published else None,
        day=(p.published - EPOCH).days if p.published else None,
        has_code=bool(p.code_urls),
    )


class Catalog:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.settings.database_url)
        self.keyword = KeywordIndex(self.settings.index_dir / "keyword")
        self._lock = threading.Lock()
        self._encoder: Encoder | None = None
        self._vectors_saved_at = time.monotonic()
        self._pending_encoder: Future[Encoder] | None = None

    # -- encoder and vector index ------------------------------------------------------------
    @property
    def model_id(self) -> str:
        if self._encoder is not None:
            return self._encoder.model_id
        return encoder_model_id(self.settings.encoder)[0]

    @property
    def dim(self) -> int:
        if self._encoder is not None:
            return self._encoder.dim
        return encoder_model_id(self.settings.encoder)[1]

    @property
    def encoder(self) -> Encoder:
        """Loaded on first use: keyword-only work never pays for a model."""
        if self._encoder is None:
            pending, self._pending_encoder = self._pending_encoder, None
            self._encoder = pending.result() if pending else load_encoder(self.settings.encoder)
        return self._encoder

    def use_encoder(self, encoder: Encoder) -> None:
        self._encoder = encoder

    def preload_encoder(self, pending: Future[Encoder]) -> None:
        """Take an encoder still loading (``load_encoder_in_background``); used on first need."""
        if self._encoder is None:
            self._pending_encoder = pending

    @cached_property
    def vectors(self) -> VectorIndex:
        # Imported on first use: onnxruntime and usearch come with it (~0.25 s), which a cold
        # keyword-only `papersift search` never needs.
        from papersift.index.vector import VectorIndex

        safe = self.model_id.replace("/", "_")
        return VectorIndex(
            self.settings.index_dir / f"vectors-{safe}.usearch", self.dim, self.model_id
        )

    def embed_query(self, text: str) -> np.ndarray:
        return _cached_query_vector(self.encoder, text)

    # -- index state ---------------------------------------------------------------------------
    @property
    def _state_path(self) -> Path:
        return self.settings.index_dir / "state.json"

    def _state(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self._state_path.read_text()))
        except (FileNotFoundError, ValueError):
            return {}

    def _save_state(self, state: dict[str, Any]) -> None:
        self._state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        tmp.replace(self._state_path)

    # -- keeping indexes in step with the store ------------------------------------------------
    def sync(self, *, embed: bool = True, progress: Progress | None = None) -> dict[str, int]:
        """Bring the keyword index (and, with ``embed``, vectors) up to date with the store."""
        with self._lock:
            done = {"keyword": self._sync_keyword(progress)}
            if embed:
                done["embedded"] = self._embed_stale(progress)
                done["vectors"] = self._sync_vectors(progress)
            return done

    def _sync_keyword(self, progress: Progress | None) -> int:
        """Index the papers changed since the watermark, committing every KEYWORD_COMMIT_EVERY_S.

        A pass records how far it got (``keyword_pending``: its watermark, the last paper num
        committed, and the newest change it set out to index), so an interrupted reindex of
        millions of papers goes on from there; papers changed meanwhile are caught by the
        regular pass that follows, from the newest change the stopped pass had seen.
        """
        state = self._state()
        raw = state.get("keyword_pending")
        pending: dict[str, Any] | None = raw if isinstance(raw, dict) else None
        if pending is not None:
            since = datetime.fromisoformat(pending["since"]) if pending.get("since") else None
            after, newest_at = int(pending["after"]), datetime.fromisoformat(pending["newest"])
        else:
            since = datetime.fromisoformat(state["keyword"]) if "keyword" in state else None
            after, newest_at = 0, None
        n = 0
        with self.store.session() as s:
            q = select(func.count(Paper.num), func.max(Paper.modified_at)).where(Paper.num > after)
            if since is not None:
                q = q.where(Paper.modified_at >= since)
            total, newest = s.execute(q).one()
            newest = newest_at or newest
            if total:
                committed_at = time.monotonic()
                for p in iter_papers(s, since=since, after=after):
                    n += self.keyword.upsert([keyword_doc(p)])
                    if progress and n % 1000 == 0:
                        progress("keyword index", n, total)
                    if time.monotonic() - committed_at >= KEYWORD_COMMIT_EVERY_S:
                        self.keyword.commit()
                        state["keyword_pending"] = {
                            "since": since.isoformat() if since else "",
                            "after": p.num,
                            "newest": newest.isoformat(),
                        }
                        self._save_state(state)
                        committed_at = time.monotonic()
                self.keyword.commit()
        if not total and pending is None:
            return 0
        if progress:
            progress("keyword index", n, total)
        if newest is not None:
            state["keyword"] = newest.isoformat()
        state.pop("keyword_pending", None)
        self._save_state(state)
        if pending is not None and newest is not None:
            with self.store.session() as s:  # changed while the stopped pass was not running?
                later = s.scalar(select(func.count(Paper.num)).where(Paper.modified_at > newest))
            if later:
                n += self._sync_keyword(progress)
        return n

    def _embed_stale(self, progress: Progress | None, batch: int = 512) -> int:
        done = 0
        with self.store.session() as s:
            total = emb.count_stale(s, self.model_id)
        if not total:
            return 0
        encoder = self.encoder
        # Fast encoders (GPU, static) take bigger jobs: fewer store round trips per paper.
        batch = max(batch, int(getattr(encoder, "job_batch", batch)))
        counted = done

        def advance(n: int) -> None:  # the bar moves within a batch too (rate and ETA)
            nonlocal counted
            counted += n
            if progress:
                progress("embedding", counted, total)

        while True:
            with self.store.session() as s:
                rows = emb.stale_papers(s, self.model_id, limit=batch)
                if not rows:
                    break
                texts = [embed_text(title, abstract) for _, title, abstract, _ in rows]
                counted = done
                vecs = encoder.encode(
                    texts, batch_size=self.settings.embed_batch_size, progress=advance
                )
                emb.put_vectors(s, self.model_id, [(r[0], r[3]) for r in rows], vecs)
            # Committed per batch: an interrupted embed resumes where it stopped.
            self.vectors.upsert([r[0] for r in rows], vecs)
            self._checkpoint_vectors()
            done += len(rows)
            if progress:
                progress("embedding", done, total)
        self.vectors.save()
        return done

    def _sync_vectors(self, progress: Progress | None) -> int:
        """Add cached vectors the index lacks (e.g. imported ones, or after a crash), and give
        the index's float16 rows the stored vectors where an older version left them out."""
        added = 0
        with self.store.session() as s:
            cached = emb.count_vectors(s, self.model_id)
            sample = emb.spread_nums(s, self.model_id)
        if not cached:
            return 0
        if not self.vectors.rows_present(sample):
            with self.store.session() as s:
                for nums, vecs in emb.iter_vectors(s, self.model_id, self.dim):
                    self.vectors.write_rows(nums, vecs)
        if cached == len(self.vectors):
            # Every cached vector is indexed (the usual case after an embed): skip reading
            # them all back, which at 2.7M papers is ~2 GB and the whole graph loaded.
            return 0
        with self.store.session() as s:
            for nums, vecs in emb.iter_vectors(s, self.model_id, self.dim):
                missing = [i for i, n in enumerate(nums) if n not in self.vectors]
                if missing:
                    self.vectors.upsert([nums[i] for i in missing], vecs[missing])
                    added += len(missing)
                    self._checkpoint_vectors()
        if added:
            self.vectors.save()
            if progress:
                progress("vector index", added, added)
        return added

    def rebuild(
        self, *, embed: bool = True, keyword: bool = True, progress: Progress | None = None
    ) -> dict[str, int]:
        """Drop both indexes and rebuild them from the store (cached vectors are reused).

        ``keyword=False`` rebuilds the vector graph alone: a graph built by an older papersift
        (narrower, so searched wider: :mod:`papersift.index.hnsw_width`) is built anew without
        re-indexing every paper's words.
        """
        with self._lock:
            if keyword:
                self.keyword = KeywordIndex.recreate(self.settings.index_dir / "keyword")
                state = self._state()
                state.pop("keyword", None)
                state.pop("keyword_pending", None)
                self._save_state(state)
            self.vectors.reset()
        return self.sync(embed=embed, progress=progress)

    def import_vectors(self, ids: Sequence[str], vectors: np.ndarray) -> int:
        """Accept precomputed embeddings keyed by paper id (for papers already in the store)."""
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (n, {self.dim}), got {vectors.shape}")
        return self.import_vector_chunks([(list(ids), vectors)]).imported

    def import_vector_chunks(
        self,
        chunks: Iterable[tuple[Sequence[str], np.ndarray]],
        *,
        total: int = 0,
        progress: Progress | None = None,
    ) -> VectorImport:
        """Write precomputed vectors, chunk by chunk, to the embedding cache and the HNSW index.

        The one place imported vectors are written. Ids are papersift ids, bare arXiv ids or
        DOIs (resolved as :func:`~papersift.store.papers.get_paper` does, in batches). Rows with
        NaN/inf or all zeros are refused and ids not in the store are skipped; both are counted.
        Each chunk commits on its own; the index file is saved every VECTOR_SAVE_EVERY_S and at
        the end.
        """
        report = VectorImport()
        for ids, vectors in chunks:
            (good_ids, rows), bad = check_rows(list(ids), vectors, self.dim)
            report.read += len(ids)
            report.note_rejected(bad)
            with self.store.session() as s:
                found = _resolve_ids(s, good_ids)
                unknown = [pid for pid in good_ids if pid not in found]
                report.note_unknown(unknown)
                last: dict[int, int] = {}  # num -> row; a paper named twice keeps its last row
                for i, pid in enumerate(good_ids):
                    if pid in found:
                        last[found[pid][0]] = i
                nums = list(last)
                hashes = {num: h for num, h in found.values()}
                picked = rows[list(last.values())]
                for start in range(0, len(nums), 1000):
                    emb.put_vectors(
                        s,
                        self.model_id,
                        [(n, hashes[n]) for n in nums[start : start + 1000]],
                        picked[start : start + 1000],
                    )
            self.vectors.upsert(nums, picked)
            self._checkpoint_vectors()
            report.imported += len(nums)
            if progress:
                progress("import vectors", report.read, total)
        self.vectors.save()
        return report

    def _checkpoint_vectors(self) -> None:
        """Save the vector index if the last save is VECTOR_SAVE_EVERY_S old (long jobs)."""
        if time.monotonic() - self._vectors_saved_at >= VECTOR_SAVE_EVERY_S:
            self.vectors.save()
            self._vectors_saved_at = time.monotonic()

    def close(self) -> None:
        stop_workers = getattr(self._encoder, "close", None)  # the static encoder's pool
        if stop_workers is not None:
            stop_workers()
        self.store.close()


_ID_FORMS: tuple[tuple[Any, Callable[[str], str | None]], ...] = (
    (Paper.id, lambda k: k),
    (Paper.arxiv_id, lambda k: parse_arxiv_id(k.removeprefix("arxiv:"))[0]),
    (Paper.doi, lambda k: normalize_doi(k.removeprefix("doi:"))),
)


def _resolve_ids(session: Session, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
    """``key -> (num, text_hash)`` for keys naming a stored paper, read as ``get_paper`` reads
    one key: the stable id first, then a bare arXiv id (any version), then a DOI; in batches."""
    out: dict[str, tuple[int, str]] = {}
    pending = list(dict.fromkeys(keys))
    for column, form in _ID_FORMS:
        wanted: dict[str, list[str]] = {}
        for k in pending:
            value = form(k)
            if value:
                wanted.setdefault(value, []).append(k)
        values = list(wanted)
        for i in range(0, len(values), 900):
            q = select(column, Paper.num, Paper.text_hash).where(column.in_(values[i : i + 900]))
            for value, num, text_hash in session.execute(q):
                for k in wanted[value]:
                    out.setdefault(k, (num, text_hash))
        pending = [k for k in pending if k not in out]
        if not pending:
            break
    return out


_QUERY_CACHE: dict[tuple[int, str], np.ndarray] = {}


def _cached_query_vector(encoder: Encoder, text: str) -> np.ndarray:
    """Paging through results re-embeds nothing; a small bounded cache per process."""
    key = (id(encoder), text)
    vec = _QUERY_CACHE.get(key)
    if vec is None:
        vec = encoder.encode([text])[0]
        if len(_QUERY_CACHE) > 512:
            _QUERY_CACHE.clear()
        _QUERY_CACHE[key] = vec
    return vec
