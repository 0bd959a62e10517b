"""Fusion math and snippet escaping, checked by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from papersift.index.hybrid import fuse, rrf, zscore
from papersift.index.snippets import make_snippet


def test_rrf_sums_reciprocal_ranks() -> None:
    fused = rrf({"keyword": [(1, 9.0), (2, 5.0)], "semantic": [(2, 0.9), (3, 0.8)]}, k=60)
    scores = {f.num: f.score for f in fused}
    assert scores[2] == pytest.approx(1 / 62 + 1 / 61)
    assert scores[1] == pytest.approx(1 / 61)
    assert scores[3] == pytest.approx(1 / 62)
    assert [f.num for f in fused] == [2, 1, 3]
    assert fused[0].evidence["keyword"].rank == 2 and fused[0].evidence["semantic"].rank == 1


def test_zscore_gives_missing_documents_the_list_floor() -> None:
    fused = zscore({"a": [(1, 3.0), (2, 1.0)], "b": [(2, 1.0), (3, 0.0)]})
    scores = {f.num: f.score for f in fused}
    # a: mean 2, sd 1 -> z(1)=1, z(2)=-1, floor -1; b: mean .5, sd .5 -> z(2)=1, z(3)=-1, floor -1
    assert scores == pytest.approx({1: 0.0, 2: 0.0, 3: -2.0})


def test_unknown_fusion_is_an_error() -> None:
    with pytest.raises(ValueError, match="fusion"):
        fuse({}, "magic")


def test_snippets_escape_html_and_mark_stemmed_hits() -> None:
    analyze = lambda t: [t.lower().rstrip("s")]  # noqa: E731 - a toy analyzer for the test
    snip = make_snippet("<img src=x onerror=alert(1)> warmups help", {"warmup"}, analyze)
    html = snip.to_html()
    assert "<img" not in html and "&lt;img" in html
    assert "<mark>warmups</mark>" in html
    assert snip.matched_terms == ["warmups"]


def test_tree_model_walks_each_tree_and_sums_the_leaves() -> None:
    import numpy as np

    from papersift.rank.rerank import FEATURES, Trees

    # Tree 1: x0 <= 0.5 ? (x1 <= 2 ? 1 : 2) : 3.  Tree 2: a single leaf, 10.
    tree = {"feature": [0, 1], "threshold": [0.5, 2.0], "left": [1, ~0], "right": [~2, ~1]}
    model = Trees.from_json(
        {
            "features": list(FEATURES),
            "depth": 3,
            "trees": [
                {**tree, "leaf": [1.0, 2.0, 3.0]},
                {"feature": [], "threshold": [], "left": [], "right": [], "leaf": [10.0]},
            ],
        }
    )
    x = np.zeros((4, len(FEATURES)))
    x[:, 0] = [0.0, 0.0, 0.5, 0.9]
    x[:, 1] = [1.0, 3.0, 2.0, 0.0]
    assert model.predict(x).tolist() == [11.0, 12.0, 11.0, 13.0]


def test_shipped_models_score_as_walking_each_tree_one_candidate_at_a_time() -> None:
    import numpy as np

    from papersift.rank.rerank import FEATURES, MODEL_BY_ENCODER, MODEL_PATH, load_model

    x = np.random.default_rng(0).normal(size=(60, len(FEATURES)))
    for path in (MODEL_PATH, *MODEL_BY_ENCODER.values()):
        model = load_model(path)
        want = np.zeros(len(x))
        for i, row in enumerate(x):
            for t in range(model.feature.shape[0]):
                node = 0
                while node >= 0:
                    f, thr = model.feature[t, node], model.threshold[t, node]
                    node = model.left[t, node] if row[f] <= thr else model.right[t, node]
                want[i] += model.leaf[t, ~node]
        assert model.predict(x) == pytest.approx(want)


def test_rerank_model_must_match_the_features() -> None:
    from papersift.rank.rerank import RerankModelError, Trees

    with pytest.raises(RerankModelError, match="features"):
        Trees.from_json({"features": ["bm25"], "trees": []})


def test_shipped_rerank_model_loads_and_scores() -> None:
    import numpy as np

    from papersift.rank.rerank import FEATURES, load_model

    model = load_model()
    assert "train" in str(model.meta["trained_on"])
    scores = model.predict(np.zeros((3, len(FEATURES))))
    assert scores.shape == (3,) and np.isfinite(scores).all()


def test_each_encoder_reranks_with_the_model_trained_on_its_own_features() -> None:
    from papersift.rank.rerank import MODEL_PATH, load_model, model_path

    static = load_model(model_path("static-minilm"))
    assert model_path("static-minilm") != MODEL_PATH
    assert static.meta["search_settings"]["encoder"] == "static-minilm"  # type: ignore[index]
    assert "train" in str(static.meta["trained_on"])
    assert model_path("minilm-onnx") == MODEL_PATH
    assert model_path("st:some/other-model") == MODEL_PATH  # no model of its own: MiniLM's


def test_rerank_features_floor_absent_papers_and_use_the_given_vectors() -> None:
    import numpy as np

    from papersift.rank.rerank import FEATURES, features

    vecs = {1: [1.0, 0.0], 2: [0.0, 1.0], 3: [0.6, 0.8]}
    x = features(
        keyword=[(1, 9.0), (2, 5.0), (3, 1.0)],
        semantic=[(3, 0.9), (1, 0.5)],
        fused=[1, 3, 2],
        query_vector=np.array([1.0, 0.0]),
        vectors_of=lambda nums: np.array([vecs[n] for n in nums]),
        depth=100,
        coverage=np.array([[1.0, 0.5], [0.2, 0.0], [0.0, 0.0]]),
    )
    col = {name: x[:, i] for i, name in enumerate(FEATURES)}
    assert col["z_semantic"][2] == pytest.approx(-1.0)  # paper 2: the semantic list's floor
    assert col["z_keyword"].tolist() == pytest.approx([1.2247, -1.2247, 0.0], abs=1e-3)
    assert col["cosine"].tolist() == pytest.approx([1.0, 0.6, 0.0])
    assert col["log_rank_semantic"].tolist() == pytest.approx([np.log(2), 0.0, np.log(101)])
    assert col["log_rank_fused"][0] == 0.0
    assert col["coverage"].tolist() == [1.0, 0.2, 0.0]
    assert col["coverage_title"].tolist() == [0.5, 0.0, 0.0]


def test_coverage_weighs_the_query_terms_by_idf_and_counts_each_once() -> None:
    from papersift.rank.rerank import term_coverage

    query = {"graphene": 3.0, "spin": 2.0, "effect": 1.0}
    docs = [
        ({"graphene"}, {"graphene", "spin", "effect"}),  # all three; the rare one in the title
        (set(), {"spin", "effect", "transport"}),  # misses the rarest term
        ({"effect"}, {"effect"}),  # one common term, in both fields: counted once
        (set(), set()),  # a paper with no text
    ]
    cov = term_coverage(query, docs)
    assert cov[:, 0].tolist() == pytest.approx([1.0, 0.5, 1 / 6, 0.0])
    assert cov[:, 1].tolist() == pytest.approx([0.5, 0.0, 1 / 6, 0.0])
    assert term_coverage({}, docs).tolist() == [[0.0, 0.0]] * 4  # a query with no terms left


def test_rocchio_moves_the_query_towards_the_feedback() -> None:
    import numpy as np

    from papersift.index.prf import rocchio

    q = rocchio(np.array([1.0, 0.0]), np.array([[0.0, 2.0], [0.0, 1.0]]), beta=1.0)
    assert q.tolist() == pytest.approx([2**-0.5, 2**-0.5])
    assert rocchio(np.array([3.0, 0.0]), np.zeros((0, 2)), beta=1.0).tolist() == [1.0, 0.0]


def test_expansion_terms_prefer_rare_feedback_terms_and_skip_query_terms() -> None:
    from papersift.index.prf import expansion_terms

    df = {"cell": 900, "apoptosis": 10, "caspase": 5, "tumor": 50}
    got = expansion_terms(
        ["cell apoptosis caspase caspase caspase", "cell tumor apoptosis"],
        str.split,
        lambda t: df[t],
        1000,
        ["tumor"],
        terms=2,
        lam=0.5,
    )
    assert [t for t, _ in got] == ["caspase", "apoptosis"]
    assert sum(w for _, w in got) == pytest.approx(1.0)  # lam/(1-lam) x one query term


def test_query_clauses_split_free_words_and_keep_syntax() -> None:
    from papersift.index.keyword_query import parse_clauses

    got = [
        (c.occur, [f for f, _ in c.fields], c.text, c.phrase)
        for c in parse_clauses('IL-10 "gene therapy" -title:mice +TNF-α authors:Song (apo) "open')
    ]
    free = ["title", "abstract", "authors"]
    assert got == [
        ("should", free, "IL", False),
        ("should", free, "10", False),
        ("should", ["title", "abstract"], "gene therapy", True),
        ("must_not", ["title"], "mice", True),
        ("must", free, "TNF-α", True),
        ("should", ["authors"], "Song", False),
        ("should", free, "apo", False),
        ("should", free, "open", False),
    ]


def test_the_keyword_weight_follows_the_encoder_unless_it_is_set(tmp_path: Path) -> None:
    from papersift.config import Settings

    assert Settings(data_dir=tmp_path).keyword_weight == 0.5
    assert Settings(data_dir=tmp_path, encoder="static-minilm").keyword_weight == 0.8
    pinned = Settings(data_dir=tmp_path, encoder="static-minilm", fusion_keyword_weight=0.3)
    assert pinned.keyword_weight == 0.3
    assert Settings(data_dir=tmp_path, encoder="st:some/model").keyword_weight == 0.5
