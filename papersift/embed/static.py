"""The fast CPU encoder: a static token-embedding table distilled from the shipped MiniLM.

A text's vector is the normalised sum of the table rows of its WordPiece tokens: no attention,
no model run, so it embeds thousands of abstracts per second on two cores where the transformer
does ~20. The table was made by ``scripts/distill_static.py`` from the shipped int8 ONNX encoder
(model2vec's recipe: every vocabulary token through the encoder, plus each token's average
output in real arXiv abstracts; then fitted so that an abstract's mean token vector lands on
MiniLM's own vector of it, as tokenlearn does; PCA to 256 dims, rows weighted by smoothed
inverse token frequency, the common direction removed); see ``models/static-minilm/PROVENANCE.md``.
Its vectors live in their own space (``MODEL_ID``), so they never mix with MiniLM's in a cache.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import re
import threading
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from papersift.embed.encoder import EncoderError, normalize_rows
from papersift.embed.modelfiles import MODELS_DIR, minilm_tokenizer, verified

MODEL_DIR = MODELS_DIR / "static-minilm"
TABLE_FILE = "embeddings.npy"
TABLE_SHA256 = "8bf2eb39e38366852e995c95e99ed88d501df0816ab892c9037b3d2c458f2f92"
DIM = 256
MODEL_ID = f"static-minilm-{DIM}-{TABLE_SHA256[:8]}"
MAX_TOKENS = 512  # a static model has no position limit; this only bounds the work per text
CHUNK = 2048  # texts tokenised and summed at a time (bounds the gathered rows in memory)
PARALLEL_MIN = 4 * CHUNK  # from this many texts on, worker processes share the work
MAX_PROCESSES = 8


class StaticMiniLM:
    """Sum-of-token-vectors sentence embeddings (256-d), L2-normalised."""

    model_id = MODEL_ID
    dim = DIM
    job_batch = 8192  # papers per embedding-job step (Catalog): the store is the slow part

    def __init__(
        self,
        *,
        table: Path | None = None,
        expected_sha256: str = TABLE_SHA256,
        processes: int | None = None,
    ) -> None:
        path = verified(str(table or MODEL_DIR / TABLE_FILE), expected_sha256)
        self._source = (path, expected_sha256)
        # Worker processes for big jobs (see _encode_parallel); 1 keeps everything in this one.
        self.processes = max(1, processes or min(os.cpu_count() or 1, MAX_PROCESSES))
        self._pool: ProcessPoolExecutor | None = None
        data = np.load(path, allow_pickle=False)
        if data.ndim != 2 or data.shape[1] != self.dim:
            raise EncoderError(f"{path}: expected a (vocab, {self.dim}) table, got {data.shape}")
        self.table = np.ascontiguousarray(data, dtype=np.float32)
        self.tokenizer = minilm_tokenizer(MAX_TOKENS)
        if self.tokenizer.get_vocab_size() != len(self.table):
            raise EncoderError(
                f"{path}: {len(self.table)} rows for a {self.tokenizer.get_vocab_size()}-token "
                "vocabulary"
            )
        self.wordpieces = WordPieceCache(self.tokenizer, MAX_TOKENS)
        self._lock = threading.Lock()  # the word cache grows as it goes: one writer at a time
        self._blas = _blas_controller()

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = CHUNK,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        if self.processes > 1 and len(texts) >= PARALLEL_MIN:
            try:
                return self._encode_parallel(texts, progress)
            except BrokenProcessPool as e:
                # A worker died: killed, or it could not start (spawn re-imports a caller's
                # script, which fails without a ``__main__`` guard). This process does it all.
                warnings.warn(
                    f"static encoder workers failed ({e}); encoding in one process", stacklevel=2
                )
                self.close()
                self.processes = 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        step = max(batch_size, CHUNK)
        # Many small matrix products: BLAS threads only spin against each other (5x slower on
        # two shared cores), so this runs on one and leaves the other to the caller.
        single = self._blas.limit(limits=1, user_api="blas") if self._blas else nullcontext()
        with single:
            for start in range(0, len(texts), step):
                chunk = [t or "" for t in texts[start : start + step]]
                with self._lock:
                    ids, lengths = self.wordpieces.encode(chunk)
                out[start : start + len(chunk)] = sum_rows(self.table, ids, lengths)
                if progress:
                    progress(len(chunk))
        return normalize_rows(out)

    def _encode_parallel(
        self, texts: Sequence[str], progress: Callable[[int], None] | None
    ) -> np.ndarray:
        """Chunks of texts to worker processes, at most two per worker in flight.

        The work is Python-bound (splitting words, looking them up), so threads would queue
        on the GIL; processes scale with cores (two on the 2-core machine: ~1.8x). Each worker
        has its own table copy and word cache; vectors come back normalised, in input order.
        """
        pool = self._workers()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        pending: deque[tuple[int, Future[np.ndarray]]] = deque()

        def take_oldest() -> None:
            first, future = pending.popleft()
            rows = future.result()
            out[first : first + len(rows)] = rows
            if progress:
                progress(len(rows))

        for start in range(0, len(texts), CHUNK):
            chunk = [t or "" for t in texts[start : start + CHUNK]]
            pending.append((start, pool.submit(_worker_encode, chunk)))
            if len(pending) > 2 * self.processes:
                take_oldest()
        while pending:
            take_oldest()
        return out

    def _workers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the parent may hold tantivy, onnxruntime or BLAS threads.
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init,
                initargs=self._source,
            )
        return self._pool

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


_WORKER: StaticMiniLM | None = None


def _worker_init(table: Path, expected_sha256: str) -> None:
    global _WORKER
    _WORKER = StaticMiniLM(table=table, expected_sha256=expected_sha256, processes=1)


def _worker_encode(texts: list[str]) -> np.ndarray:
    assert _WORKER is not None, "worker not initialised"
    return _WORKER.encode(texts)


def _blas_controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    return ThreadpoolController()


class WordPieceCache:
    """The MiniLM tokenizer's ids (no [CLS]/[SEP]), several times cheaper on plain-ASCII text.

    BERT's uncased pre-tokenisation of printable ASCII is: lower-case, then runs of letters and
    digits are words and every other non-space character is a word of its own. Each distinct
    word is WordPiece-split once by the real tokenizer and remembered; a text is then a regex
    split, and its token ids are gathered for all texts at once in numpy. Texts with anything
    else (accents, CJK, control characters) go to the real tokenizer whole, so the ids are the
    same either way (a test checks it on real abstracts and odd text).
    """

    WORD = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")
    OTHER = re.compile(r"[^\t\n\r\x20-\x7e]")
    MAX_WORDS = 2_000_000  # forget everything past this (a 2.7M-abstract run meets ~1M words)

    def __init__(self, tokenizer: Any, max_tokens: int) -> None:
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self._reset()

    def _reset(self) -> None:
        self.word_ids: dict[str, int] = {}
        self.pieces = np.zeros(0, dtype=np.int64)  # token ids of every known word, back to back
        self.start = np.zeros(0, dtype=np.int64)  # per word: where its ids begin in ``pieces``
        self.count = np.zeros(0, dtype=np.int64)  # per word: how many ids it has

    def _split(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch_fast(texts, add_special_tokens=False)]

    def _learn(self, words: list[str]) -> None:
        split = self._split(words)
        lens = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        flat = np.fromiter(itertools.chain.from_iterable(split), np.int64, int(lens.sum()))
        first = len(self.word_ids)
        self.word_ids.update(zip(words, range(first, first + len(words)), strict=True))
        self.start = np.concatenate([self.start, len(self.pieces) + np.cumsum(lens) - lens])
        self.count = np.concatenate([self.count, lens])
        self.pieces = np.concatenate([self.pieces, flat])

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, lengths)``: every text's token ids back to back, and each text's count."""
        words: list[str] = []
        n_words = np.zeros(len(texts), dtype=np.int64)
        slow: list[int] = []
        for i, text in enumerate(texts):
            if self.OTHER.search(text):
                slow.append(i)
                continue
            found = self.WORD.findall(text.lower())
            words.extend(found)
            n_words[i] = len(found)
        # map() keeps the per-word loop in C: 2x faster than a generator over 5M words.
        found_ids = map(self.word_ids.get, words, itertools.repeat(-1))
        wid = np.fromiter(found_ids, dtype=np.int64, count=len(words))
        missing = np.flatnonzero(wid < 0)
        if len(missing):
            new = list(dict.fromkeys(words[i] for i in missing))
            if len(self.word_ids) + len(new) > self.MAX_WORDS:
                self._reset()
                new, missing = list(dict.fromkeys(words)), np.arange(len(words))
            self._learn(new)
            wid[missing] = [self.word_ids[words[i]] for i in missing]
        counts = self.count[wid]
        total = int(counts.sum())
        # Token k of the output is piece (start of its word) + (k - first output slot of word).
        ids = self.pieces[np.repeat(self.start[wid] - (np.cumsum(counts) - counts), counts)
                          + np.arange(total)]  # fmt: skip
        text_of_word = np.repeat(np.arange(len(texts)), n_words)
        lengths = np.bincount(text_of_word, weights=counts, minlength=len(texts)).astype(np.int64)
        if lengths.max(initial=0) > self.max_tokens:
            position = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            ids = ids[position < self.max_tokens]
            lengths = np.minimum(lengths, self.max_tokens)
        if slow:
            parts = np.split(ids, np.cumsum(lengths)[:-1])
            for i, piece_ids in zip(slow, self._split([texts[i] for i in slow]), strict=True):
                parts[i] = np.asarray(piece_ids, dtype=np.int64)
                lengths[i] = len(piece_ids)
            ids = np.concatenate(parts) if parts else ids
        return ids, lengths

    def ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids per text, as lists (what ``Tokenizer.encode_batch`` gives)."""
        ids, lengths = self.encode(texts)
        return [part.tolist() for part in np.split(ids, np.cumsum(lengths)[:-1])][: len(texts)]


def sum_rows(table: np.ndarray, ids: np.ndarray, lengths: np.ndarray, step: int = 32) -> np.ndarray:
    """Per text, the sum of ``table[ids]`` over its tokens (texts without tokens get zeros).

    Done as a small matrix product per group of texts, (texts x distinct tokens) counts times
    those tokens' rows: it reads each distinct row once per group instead of once per
    occurrence, and BLAS does the adding (7x faster than gathering every row here).
    """
    out = np.zeros((len(lengths), table.shape[1]), dtype=np.float32)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    text_of = np.repeat(np.arange(len(lengths)), lengths)
    for s in range(0, len(lengths), step):
        n = min(step, len(lengths) - s)
        a, b = starts[s], ends[s + n - 1]
        if a == b:
            continue
        tokens, col = np.unique(ids[a:b], return_inverse=True)
        cells = (text_of[a:b] - s) * len(tokens) + col
        counts = np.bincount(cells, minlength=n * len(tokens)).reshape(n, len(tokens))
        out[s : s + n] = counts.astype(np.float32) @ table[tokens]
    return out
