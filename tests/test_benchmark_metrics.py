"""The benchmark's ranking metrics, checked on toy rankings computed by hand.

``benchmarks/`` is a folder of scripts, not a package, so the module is loaded from its path.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

METRICS_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "metrics.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("papersift_benchmark_metrics", METRICS_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


m = _load()


def test_perfect_ranking_scores_one() -> None:
    qrels = {"a": 2, "b": 1}
    assert m.ndcg_at_k(["a", "b", "x"], qrels, 10) == pytest.approx(1.0)
    assert m.recall_at_k(["a", "b", "x"], qrels, 100) == 1.0
    assert m.mrr_at_k(["a", "b", "x"], qrels, 10) == 1.0


def test_two_relevant_documents_at_ranks_two_and_four() -> None:
    # DCG = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068; ideal = 1 + 1/log2(3) = 1.63093.
    ranked = ["x", "a", "y", "b"]
    qrels = {"a": 1, "b": 1}
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert expected == pytest.approx(0.6509209)
    assert m.ndcg_at_k(ranked, qrels, 10) == pytest.approx(expected)
    assert m.mrr_at_k(ranked, qrels, 10) == 0.5
    assert m.recall_at_k(ranked, qrels, 100) == 1.0
    # Cut at 3: only "a" counts; the ideal still holds both judged documents.
    assert m.ndcg_at_k(ranked, qrels, 3) == pytest.approx(
        (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    )
    assert m.recall_at_k(ranked, qrels, 3) == 0.5


def test_graded_gains_are_linear_and_order_matters() -> None:
    # Grade 1 first, grade 2 second: (1 + 2/log2 3) / (2 + 1/log2 3) = 0.85972.
    assert m.ndcg_at_k(["b", "a"], {"a": 2, "b": 1}, 10) == pytest.approx(0.8597187)


def test_ideal_counts_relevant_documents_never_retrieved() -> None:
    # One of two relevant found at rank 1: 1 / (1 + 1/log2 3).
    assert m.ndcg_at_k(["a"], {"a": 1, "z": 1}, 10) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert m.recall_at_k(["a"], {"a": 1, "z": 1}, 100) == 0.5


def test_mrr_uses_the_first_relevant_hit_within_the_cut() -> None:
    assert m.mrr_at_k(["x", "y", "a", "b"], {"a": 1, "b": 1}, 10) == pytest.approx(1 / 3)
    ranked = [f"x{i}" for i in range(10)] + ["a"]
    assert m.mrr_at_k(ranked, {"a": 1}, 10) == 0.0
    assert m.mrr_at_k(ranked, {"a": 1}, 11) == pytest.approx(1 / 11)


def test_zero_grades_and_repeats_earn_nothing() -> None:
    qrels = {"a": 1, "n": 0}
    assert m.mrr_at_k(["n", "a"], qrels, 10) == 0.5
    assert m.recall_at_k(["n"], qrels, 100) == 0.0
    # A repeated relevant document counts once, at its first position.
    assert m.ndcg_at_k(["x", "a", "a"], {"a": 1, "b": 1}, 10) == pytest.approx(
        (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    )


def test_queries_without_relevant_documents_and_empty_rankings_score_zero() -> None:
    assert m.ndcg_at_k(["a"], {}, 10) == 0.0
    assert m.recall_at_k(["a"], {"a": 0}, 100) == 0.0
    assert m.ndcg_at_k([], {"a": 1}, 10) == 0.0
    assert m.mrr_at_k([], {"a": 1}, 10) == 0.0


def test_mean_and_percentiles_match_numpy_rules() -> None:
    assert m.mean([]) == 0.0
    assert m.mean([1.0, 2.0, 6.0]) == 3.0
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert m.percentile(values, 50) == 30.0
    assert m.percentile(values, 95) == pytest.approx(48.0)  # 40 + 0.8 * (50 - 40)
    assert m.percentile([7.0], 95) == 7.0
    assert m.percentile([], 50) == 0.0
    with pytest.raises(ValueError):
        m.percentile(values, 101)


def test_rerank_folds_keep_queries_that_share_a_relevant_document_together(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bench = METRICS_PATH.parent
    monkeypatch.syspath_prepend(str(bench))  # the script imports its neighbours by name
    path = bench / "train_reranker.py"
    spec = importlib.util.spec_from_file_location("papersift_train_reranker", path)
    assert spec is not None and spec.loader is not None
    trainer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(trainer)
    # claims 0 and 3 cite d1, 3 and 5 cite d2: one group through 3; 1, 2, 4 stand alone
    relevant = [{"d1"}, {"d7"}, {"d8"}, {"d1", "d2"}, {"d9"}, {"d2"}]
    folds = trainer.grouped_folds(relevant, 3)
    assert sorted(i for f in folds for i in f) == list(range(6))  # every query once
    assert [0, 3, 5] in folds  # the group whole, in one fold
    assert sorted(len(f) for f in folds) == [1, 2, 3]  # the others spread over the rest
