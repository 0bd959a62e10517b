"""A per-user (or per-tag) linear model over paper embeddings, and why it picked a paper.

arxiv-sanity-lite fits a linear SVM on tf-idf features over the whole corpus on every request.
Here the model is fitted on the user's saved papers against a fixed random sample of the corpus
(a class-balanced regularised least-squares classifier: one 385x385 solve, since the background's
part of the normal equations is computed once), and its weight vector is then used as a query
against the HNSW vector index that search already has. Ranking the corpus by ``w . x`` is exactly
a maximum-inner-product query, and with L2-normalised paper vectors that is the cosine ranking of
``w / |w|``, so a recommendation at arXiv scale costs one vector search, not a pass over millions
of papers.
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


@dataclass(frozen=True)
class Background:
    """Sufficient statistics of a random sample of the corpus (the negatives), computed once.

    With them a model is fitted from the saved papers alone: the background's share of the
    normal equations is a fixed (dim+1)^2 matrix, so a fit costs one small solve however large
    the sample, instead of passes over thousands of vectors per request.
    """

    gram: np.ndarray  # (dim+1, dim+1): sum of [x, 1][x, 1]^T
    total: np.ndarray  # (dim+1,): sum of [x, 1]
    count: int

    @classmethod
    def of(cls, vectors: np.ndarray) -> Background:
        x = np.hstack([vectors.astype(np.float64), np.ones((len(vectors), 1))])
        return cls(gram=x.T @ x, total=x.sum(axis=0), count=len(vectors))


def fit(positives: np.ndarray, background: Background, *, l2: float = 0.05) -> LinearModel:
    """A class-balanced regularised least-squares classifier: saved papers +1, background -1.

    The squared loss (a ridge / Fisher discriminant classifier) ranks about as well as a
    logistic regression or a linear SVM for this one-class-against-the-rest task, and it has a
    closed form. Both classes weigh half, since a user saves tens of papers and the background
    holds thousands. With no background (an empty corpus) the centroid of the saved papers is the
    model, which is what a linear model degenerates to anyway.
    """
    if len(positives) == 0:
        raise ValueError("a model needs at least one saved paper")
    pos = np.hstack([positives.astype(np.float64), np.ones((len(positives), 1))])
    if background.count == 0:
        return LinearModel(positives.mean(axis=0).astype(np.float32), 0.0)
    wp, wn = 0.5 / len(pos), 0.5 / background.count
    dim = pos.shape[1]
    reg = np.full(dim, l2)
    reg[-1] = 0.0  # the bias is not shrunk
    a = wp * (pos.T @ pos) + wn * background.gram + np.diag(reg) + 1e-9 * np.eye(dim)
    b = wp * pos.sum(axis=0) - wn * background.total
    w = np.linalg.solve(a, b)
    return LinearModel(w[:-1].astype(np.float32), float(w[-1]))


def closest_seed(candidates: np.ndarray, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's most similar seed and that cosine: the "because you saved X" line."""
    sims = candidates @ seeds.T
    best = sims.argmax(axis=1)
    return best, sims[np.arange(len(candidates)), best]
