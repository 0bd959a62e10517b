"""A per-user (or per-tag) linear model over paper embeddings, and why it picked a paper.

arxiv-sanity-lite fits a linear SVM on tf-idf features over the whole corpus on every request.
Here the model is fitted on the user's saved papers against a fixed random sample of the corpus
(an L2-regularised logistic regression, solved by Newton's method: a few 384x384 solves, a few
milliseconds), and its weight vector is then used as a query against the HNSW vector index that
search already has. Ranking the corpus by ``w . x`` is exactly a maximum-inner-product query, and
with L2-normalised paper vectors that is the cosine ranking of ``w / |w|``, so a recommendation
at arXiv scale costs one vector search, not a pass over millions of papers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LinearModel:
    weights: np.ndarray  # (dim,), float32
    bias: float

    def direction(self) -> np.ndarray:
        """The unit vector to query the index with (same ranking as ``w . x``)."""
        norm = float(np.linalg.norm(self.weights))
        return (self.weights / norm).astype(np.float32) if norm > 0 else self.weights


def fit(
    positives: np.ndarray,
    negatives: np.ndarray,
    *,
    l2: float = 1.0,
    iterations: int = 15,
) -> LinearModel:
    """Logistic regression of positives (1) against background papers (0).

    The classes are re-weighted to equal total weight, since a user saves tens of papers and the
    background sample is thousands. With no negatives (an empty corpus), the centroid of the
    positives is the model, which is what a linear model degenerates to anyway.
    """
    if len(positives) == 0:
        raise ValueError("a model needs at least one saved paper")
    pos = positives.astype(np.float64)
    if len(negatives) == 0:
        return LinearModel(pos.mean(axis=0).astype(np.float32), 0.0)
    neg = negatives.astype(np.float64)
    x = np.vstack([pos, neg])
    x = np.hstack([x, np.ones((len(x), 1))])  # bias column
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    sample_w = np.concatenate(
        [np.full(len(pos), 0.5 / len(pos)), np.full(len(neg), 0.5 / len(neg))]
    ) * len(x)
    dim = x.shape[1]
    reg = np.full(dim, l2)
    reg[-1] = 0.0  # the bias is not shrunk
    w = np.zeros(dim)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (sample_w * (p - y)) + reg * w
        hess = (x.T * (sample_w * p * (1 - p))) @ x + np.diag(reg) + 1e-9 * np.eye(dim)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-6:
            break
    return LinearModel(w[:-1].astype(np.float32), float(w[-1]))


def closest_seed(candidates: np.ndarray, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's most similar seed and that cosine: the "because you saved X" line."""
    sims = candidates @ seeds.T
    best = sims.argmax(axis=1)
    return best, sims[np.arange(len(candidates)), best]
