"""Ranking metrics for the relevance benchmark, written out by hand.

They follow the definitions BEIR reports through ``pytrec_eval`` (trec_eval's ``ndcg_cut``,
``recall`` and reciprocal rank), so papersift's numbers can be set beside published ones, but
without adding a C-extension dependency for three short formulas. Each function scores one query;
:func:`mean` averages over queries.

Conventions, matching trec_eval:

- ``ranked`` is the system's ranking of document ids, best first. A document repeated later in
  the list counts once, at its first (best) position.
- ``qrels`` maps document id to graded relevance. Only grades > 0 are relevant; the gain of a
  document is its grade (linear gain, not ``2**grade - 1``).
- The discount at 1-based rank ``r`` is ``1 / log2(r + 1)``; the ideal DCG sorts all judged
  grades of the query, not only those retrieved.
- A query with no relevant document scores 0 (the benchmark only evaluates queries that have
  at least one, as BEIR does).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence


def unique_in_order(ranked: Iterable[str]) -> list[str]:
    """Drop repeats, keeping the first position: a document cannot earn gain twice."""
    seen: set[str] = set()
    out: list[str] = []
    for doc in ranked:
        if doc not in seen:
            seen.add(doc)
            out.append(doc)
    return out


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain of gains listed in rank order (rank 1 first)."""
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, start=1) if g)


def ndcg_at_k(ranked: Sequence[str], qrels: Mapping[str, float], k: int = 10) -> float:
    """nDCG@k with graded gains; 0.0 when the query has no relevant document."""
    ideal_gains = sorted((g for g in qrels.values() if g > 0), reverse=True)[:k]
    ideal = dcg(ideal_gains)
    if ideal <= 0:
        return 0.0
    got = [max(float(qrels.get(doc, 0.0)), 0.0) for doc in unique_in_order(ranked)[:k]]
    return dcg(got) / ideal


def recall_at_k(ranked: Sequence[str], qrels: Mapping[str, float], k: int = 100) -> float:
    """Share of the relevant documents found in the top k (denominator: all relevant ones)."""
    relevant = {doc for doc, g in qrels.items() if g > 0}
    if not relevant:
        return 0.0
    found = relevant.intersection(unique_in_order(ranked)[:k])
    return len(found) / len(relevant)


def mrr_at_k(ranked: Sequence[str], qrels: Mapping[str, float], k: int = 10) -> float:
    """Reciprocal rank of the first relevant document within the top k, else 0."""
    for rank, doc in enumerate(unique_in_order(ranked)[:k], start=1):
        if qrels.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean; 0.0 for no values (an empty run should print, not crash)."""
    vals = list(values)
    return sum(vals) / len(vals) if vals else 0.0


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks.

    Same rule as ``numpy.percentile``'s default, so latency percentiles agree with other tools.
    """
    vals = sorted(values)
    if not vals:
        return 0.0
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be in [0, 100], got {q}")
    pos = (len(vals) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)
