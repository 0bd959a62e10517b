"""Approximate nearest-neighbour index over paper embeddings: usearch HNSW with int8 vectors.

int8 keeps RAM near 400 bytes/paper for 384-d MiniLM (DESIGN.md budget: <= 600), and HNSW keeps
queries in milliseconds where exact search costs ~700 ms at 2.7M papers. Keys are paper ``num``.
The file is derived data: `papersift reindex` rebuilds it from the store's cached embeddings.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import onnxruntime  # noqa: F401  # isort: skip  (must precede usearch: DESIGN.md import-order crash)
from usearch.index import Index  # isort: skip

CONNECTIVITY = 16
EF_ADD = 128
EF_SEARCH = 96


class VectorIndex:
    def __init__(self, path: Path, dim: int, model_id: str) -> None:
        self.path = path
        self.dim = dim
        self.model_id = model_id
        self.index = self._new()
        if path.exists():
            self.index.load(str(path))
            if self.index.ndim != dim:
                raise ValueError(f"vector index {path} has dim {self.index.ndim}, expected {dim}")
        self.index.expansion_search = EF_SEARCH  # type: ignore[misc]  # settable at run time

    def _new(self) -> Index:
        return Index(
            ndim=self.dim,
            metric="cos",
            dtype="i8",
            connectivity=CONNECTIVITY,
            expansion_add=EF_ADD,
            expansion_search=EF_SEARCH,
        )

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, num: int) -> bool:
        return bool(self.index.contains(num))

    def upsert(self, nums: Sequence[int], vectors: np.ndarray) -> None:
        if not len(nums):
            return
        keys = np.asarray(nums, dtype=np.uint64)
        present = [int(k) for k in keys if self.index.contains(int(k))]
        if present:
            self.index.remove(np.asarray(present, dtype=np.uint64))
        self.index.add(keys, np.asarray(vectors, dtype=np.float32))

    def remove(self, nums: Sequence[int]) -> None:
        present = [n for n in nums if self.index.contains(n)]
        if present:
            self.index.remove(np.asarray(present, dtype=np.uint64))

    def save(self) -> None:
        """Write to a temporary file, then rename: readers never see a half-written index."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        self.index.save(str(tmp))
        os.replace(tmp, self.path)

    def reset(self) -> None:
        self.index = self._new()

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """``(num, cosine similarity)`` of the k nearest papers."""
        if len(self.index) == 0 or k <= 0:
            return []
        k = min(k, len(self.index))
        m = self.index.search(np.asarray(vector, dtype=np.float32), k)
        return [
            (int(key), float(1.0 - dist)) for key, dist in zip(m.keys, m.distances, strict=True)
        ]
