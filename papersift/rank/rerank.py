"""Learned reranking of hybrid candidates: a small tree ensemble over cheap retrieval features.

Fusion sees two numbers per paper (a BM25 z-score and a cosine z-score) and adds them. A paper
found by both retrievers near the top, or one that sits close to the other top results in the
embedding space, is more likely relevant than the sum says; a hundred small trees learn
such shapes from judged queries. Most features come from what the search already has in hand
(the two ranked lists and the papers' vectors in the HNSW index); two read the candidates' words
(how much of the query's idf mass a paper's title and abstract hold, as the keyword index
analyses them), because BM25 alone lets one frequent term outweigh two missing ones. Nothing is
re-embedded; analysing the top 100 titles and abstracts is the main cost (a few ms).

The model (``models/rerank.json``) is trained by ``benchmarks/train_reranker.py`` on the SciFact
*train* split only; its features are scale-free (z-scores, ranks, cosines, shares), so it
carries over to other collections as far as MiniLM's cosine does. The file holds the feature
names, the trees and where they came from; a model whose feature list differs from
:data:`FEATURES` is refused.

An encoder whose cosines are shaped differently gets its own model: the static encoder's
cosines are lower and flatter, so trees split on MiniLM's thresholds misplace its candidates
(:data:`MODEL_BY_ENCODER`). Encoders without one use MiniLM's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

MODEL_DIR = Path(__file__).parent / "models"
MODEL_PATH = MODEL_DIR / "rerank.json"
MODEL_BY_ENCODER = {"static-minilm": MODEL_DIR / "rerank-static-minilm.json"}
FEATURES = (
    "z_keyword",  # BM25 z-score within the keyword list; the list's floor when absent
    "z_semantic",  # cosine z-score within the semantic list; its floor when absent
    "cosine",  # query-paper cosine, also for papers only the keyword list found
    "log_rank_fused",  # log(1 + position in the fused list)
    "log_rank_keyword",  # log(rank in the keyword list), log(depth + 1) when absent
    "log_rank_semantic",
    "cosine_feedback",  # cosine to the centroid of the fused top PRF_DOCS (dense feedback)
    "coverage",  # idf-weighted share of the query's terms found in the title or abstract
    "coverage_title",  # the same share found in the title
)
PRF_DOCS = 3
RERANK_DEPTH = 100  # the fused top this many are reranked (what the model was trained on)

Ranked = Sequence[tuple[int, float]]
VectorsOf = Callable[[Sequence[int]], np.ndarray]  # nums -> (n, dim) vectors, rows in order


class RerankModelError(ValueError):
    """The shipped model file is missing, damaged, or made for other features."""


@dataclass(frozen=True)
class Trees:
    """A tree ensemble as flat arrays, evaluated for all trees and candidates at once.

    ``left``/``right`` hold a node index (>= 0) or ``~leaf`` (< 0); a sample goes left when
    ``x[feature] <= threshold``.
    """

    feature: np.ndarray  # (trees, nodes) int
    threshold: np.ndarray  # (trees, nodes) float
    left: np.ndarray  # (trees, nodes) int
    right: np.ndarray  # (trees, nodes) int
    leaf: np.ndarray  # (trees, leaves) float
    depth: int
    meta: dict[str, object]

    def predict(self, x: np.ndarray) -> np.ndarray:
        # Every (tree, candidate) pair walks down at once, on flat indices; pairs that reach a
        # leaf drop out, so the few long paths of deep trees do not cost a full pass each
        # (300 16-leaf trees over 100 candidates: ~2 ms, against ~6.5 ms when every level
        # moved every pair through 2-D indexing).
        n_trees, nodes = self.feature.shape
        n, n_features = x.shape
        feature, threshold = self.feature.ravel(), self.threshold.ravel()
        left, right = self.left.ravel(), self.right.ravel()
        values = np.ascontiguousarray(x, dtype=np.float64).ravel()
        tree_at = np.repeat(np.arange(n_trees) * nodes, n)  # each pair's tree's first node
        row_at = np.tile(np.arange(n) * n_features, n_trees)  # each pair's candidate's row
        leaf_of = np.zeros(n_trees * n, dtype=np.int64)
        pair, at = np.arange(n_trees * n), tree_at.copy()
        for _ in range(self.depth):
            if not pair.size:
                break
            go_left = values[row_at + feature[at]] <= threshold[at]
            step = np.where(go_left, left[at], right[at])
            done = step < 0
            leaf_of[pair[done]] = ~step[done]
            more = ~done
            pair, tree_at, row_at = pair[more], tree_at[more], row_at[more]
            at = tree_at + step[more]
        leaves = self.leaf.shape[1]
        first_leaf = np.repeat(np.arange(n_trees) * leaves, n)
        scores: np.ndarray = self.leaf.ravel()[first_leaf + leaf_of].reshape(n_trees, n).sum(axis=0)
        return scores

    @classmethod
    def from_json(cls, obj: dict[str, object]) -> Trees:
        if tuple(obj.get("features", ())) != FEATURES:  # type: ignore[arg-type]
            raise RerankModelError(
                f"rerank model features {obj.get('features')} differ from {list(FEATURES)}"
            )
        raw = obj["trees"]
        assert isinstance(raw, list)
        nodes = max(1, max(len(t["feature"]) for t in raw))
        leaves = max(len(t["leaf"]) for t in raw)

        def pad(key: str, width: int, fill: float, dtype: type) -> np.ndarray:
            out: np.ndarray = np.full((len(raw), width), fill, dtype=dtype)
            for i, t in enumerate(raw):
                out[i, : len(t[key])] = t[key]
            return out

        left = pad("left", nodes, -1, np.int64)
        right = pad("right", nodes, -1, np.int64)
        for i, t in enumerate(raw):
            if not t["feature"]:  # a single-leaf tree: its root is that leaf
                left[i, 0] = right[i, 0] = -1
        return cls(
            feature=pad("feature", nodes, 0, np.int64),
            threshold=pad("threshold", nodes, math.inf, np.float64),
            left=left,
            right=right,
            leaf=pad("leaf", leaves, 0.0, np.float64),
            depth=int(obj.get("depth", nodes)),  # type: ignore[call-overload]
            meta={k: v for k, v in obj.items() if k != "trees"},
        )


def model_path(encoder: str) -> Path:
    """The rerank model trained on this encoder's features, else the MiniLM one."""
    return MODEL_BY_ENCODER.get(encoder, MODEL_PATH)


@cache
def load_model(path: Path = MODEL_PATH) -> Trees:
    try:
        return Trees.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise RerankModelError(f"cannot load rerank model {path}: {e}") from e


def _zscores(ranked: Ranked, nums: Sequence[int]) -> np.ndarray:
    """z-score of each num's score within ``ranked`` (the list's lowest z when absent)."""
    if not ranked:
        return np.zeros(len(nums))
    scores = np.array([s for _, s in ranked], dtype=np.float64)
    mu, sd = float(scores.mean()), float(scores.std()) or 1.0
    by = dict(ranked)
    floor = (float(scores.min()) - mu) / sd
    return np.array([(by[n] - mu) / sd if n in by else floor for n in nums])


def _log_ranks(ranked: Ranked, nums: Sequence[int], depth: int) -> np.ndarray:
    rank = {n: r for r, (n, _) in enumerate(ranked, start=1)}
    return np.log([float(rank.get(n, depth + 1)) for n in nums])


def term_coverage(
    query_terms: Mapping[str, float],
    docs: Sequence[tuple[Collection[str], Collection[str]]],
) -> np.ndarray:
    """(len(docs), 2): the share of the query's term weight (idf) that each paper's title or
    abstract holds, and that its title holds. ``docs`` are (title terms, abstract terms)."""
    total = sum(query_terms.values())
    out = np.zeros((len(docs), 2))
    if total <= 0:
        return out
    for i, (title, abstract) in enumerate(docs):
        in_title = sum(w for t, w in query_terms.items() if t in title)
        anywhere = in_title + sum(
            w for t, w in query_terms.items() if t not in title and t in abstract
        )
        out[i] = anywhere / total, in_title / total
    return out


def features(
    keyword: Ranked,
    semantic: Ranked,
    fused: Sequence[int],
    query_vector: np.ndarray,
    vectors_of: VectorsOf,
    depth: int,
    coverage: np.ndarray,
) -> np.ndarray:
    """The (len(fused), len(FEATURES)) matrix for the fused candidates, in FEATURES order;
    ``coverage`` is :func:`term_coverage` of the same candidates."""
    nums = list(fused)
    vecs = np.asarray(vectors_of(nums), dtype=np.float64)
    vecs /= np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)
    q = np.asarray(query_vector, dtype=np.float64)
    q = q / (np.linalg.norm(q) or 1.0)
    cosine = vecs @ q
    centroid = vecs[:PRF_DOCS].mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    return np.column_stack(
        [
            _zscores(keyword, nums),
            _zscores(semantic, nums),
            cosine,
            np.log1p(np.arange(len(nums), dtype=np.float64)),
            _log_ranks(keyword, nums, depth),
            _log_ranks(semantic, nums, depth),
            vecs @ centroid,
            coverage[:, 0],
            coverage[:, 1],
        ]
    )


def rerank(
    keyword: Ranked,
    semantic: Ranked,
    fused: Sequence[int],
    query_vector: np.ndarray,
    vectors_of: VectorsOf,
    depth: int,
    coverage_of: Callable[[Sequence[int]], np.ndarray],
    model: Trees | None = None,
) -> list[tuple[int, float]]:
    """The fused top RERANK_DEPTH reordered by the model (with its scores); the rest follow.

    ``coverage_of(nums)`` gives :func:`term_coverage` for those papers."""
    head = list(fused[:RERANK_DEPTH])
    if len(head) < 2:
        return [(n, 0.0) for n in fused]
    model = model or load_model()
    x = features(keyword, semantic, head, query_vector, vectors_of, depth, coverage_of(head))
    scores = model.predict(x)
    order = np.argsort(-scores, kind="stable")
    out = [(head[i], float(scores[i])) for i in order]
    floor = float(scores.min()) if len(scores) else 0.0
    return out + [(n, floor) for n in fused[RERANK_DEPTH:]]
