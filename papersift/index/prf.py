"""Pseudo-relevance feedback: take the first ranking's top papers as if a user had marked them.

Two cheap forms, both off by default because neither helped on SciFact train (see
``benchmarks/results/scifact-variants.json``: with about one relevant abstract per claim, the
top 3-10 papers pull the query away from it as often as towards it):

- dense (Rocchio): the query vector plus ``beta`` times the mean of the top papers' vectors,
  taken from the HNSW index (nothing is re-embedded), searched again;
- keyword (RM3-style): the terms carrying most weight in the top papers' titles and abstracts
  (term frequency share x idf), added to the keyword query with a total weight ``lam``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from papersift.index.keyword import bm25_idf


def rocchio(query: np.ndarray, feedback: np.ndarray, beta: float) -> np.ndarray:
    """``query + beta * mean(feedback)``, unit length (feedback rows need not be)."""
    q = np.asarray(query, dtype=np.float32)
    q = q / (np.linalg.norm(q) or 1.0)
    if len(feedback) and beta:
        fb = np.asarray(feedback, dtype=np.float32)
        fb = fb / np.clip(np.linalg.norm(fb, axis=1, keepdims=True), 1e-12, None)
        q = q + beta * fb.mean(axis=0)
    return q / (np.linalg.norm(q) or 1.0)


def expansion_terms(
    texts: Sequence[str],
    analyze: Callable[[str], list[str]],
    doc_freq: Callable[[str], int],
    num_docs: int,
    query_terms: Sequence[str],
    *,
    terms: int = 10,
    lam: float = 0.3,
) -> list[tuple[str, float]]:
    """Up to ``terms`` weighted expansion terms from the feedback texts (query terms excluded).

    Each text votes with its terms' frequency shares; a term's vote is scaled by its idf so
    that words common everywhere do not win. The weights sum to ``lam`` relative to a query
    term's weight of 1 / len(query_terms), the RM3 interpolation.
    """
    votes: dict[str, float] = {}
    for text in texts:
        toks = analyze(text)
        if not toks:
            continue
        for t, c in Counter(toks).items():
            votes[t] = votes.get(t, 0.0) + c / len(toks)
    known = set(query_terms)
    scored = {t: v * bm25_idf(doc_freq(t), num_docs) for t, v in votes.items() if t not in known}
    top = sorted(scored.items(), key=lambda kv: -kv[1])[:terms]
    total = sum(w for _, w in top)
    if not top or total <= 0 or not 0 < lam < 1:
        return []
    # RM3: (1 - lam) * query + lam * feedback, each summing to 1; rescaled so that a query term
    # keeps its boost of 1 in the keyword query.
    scale = lam / (1.0 - lam) * max(len(query_terms), 1)
    return [(t, scale * w / total) for t, w in top]
