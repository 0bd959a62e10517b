"""The recommender's parts: the linear model, the saves' keyword profile, the neighbour score
and the blend."""

from __future__ import annotations

import numpy as np

from papersift.rank.recommend import (
    Background,
    blend,
    closest_seed,
    fit,
    keyword_profile,
    neighbour_score,
)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def test_the_linear_model_ranks_papers_like_the_saved_ones_first() -> None:
    rng = np.random.default_rng(0)
    topic = _unit(rng.normal(size=16))
    background = _unit(rng.normal(size=(500, 16)))
    saved = _unit(topic + 0.3 * rng.normal(size=(12, 16)))
    model = fit(saved, Background.of(background))
    on_topic = _unit(topic + 0.3 * rng.normal(size=(20, 16)))
    scores_on = on_topic @ model.weights + model.bias
    scores_off = background[:20] @ model.weights + model.bias
    assert scores_on.min() > np.median(scores_off)
    # the index is queried with the direction: same order as w . x on unit vectors
    d = model.direction()
    assert abs(float(np.linalg.norm(d)) - 1.0) < 1e-5
    both = np.vstack([on_topic, background[:20]])
    assert (np.argsort(-(both @ d)) == np.argsort(-(both @ model.weights))).all()
    best, sims = closest_seed(on_topic[:3], saved)
    assert np.allclose(sims, (on_topic[:3] @ saved.T).max(axis=1))
    assert (best == (on_topic[:3] @ saved.T).argmax(axis=1)).all()


def test_without_a_background_the_model_is_the_centroid() -> None:
    saved = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    model = fit(saved, Background.of(np.zeros((0, 2), dtype=np.float32)))
    assert np.allclose(model.weights, [0.5, 0.5])


def test_the_keyword_profile_keeps_words_shared_by_the_saves_and_rare_in_the_corpus() -> None:
    df = {"lidar": 20, "point": 60, "cloud": 50, "model": 400, "network": 90, "rare": 1}
    saves = [
        "lidar point cloud model",
        "lidar point cloud segmentation model",
        "lidar network model rare",
    ]
    profile = keyword_profile(saves, str.split, lambda t: df.get(t, 5), 1000, terms=4)
    terms = [t for t, _ in profile]
    assert terms[0] == "lidar"  # in every save, rarest among those
    assert profile[0][1] == 1.0 and all(0 < w <= 1.0 for _, w in profile)
    assert "model" not in terms  # in 40% of the corpus (max_df 0.1)
    assert "rare" not in terms  # below min_df: a typo or one paper's jargon
    assert len(profile) == 4
    assert keyword_profile([], str.split, lambda t: 1, 10) == []
    assert keyword_profile(["model"], str.split, lambda t: 400, 1000) == []


def test_the_blend_weighs_standardised_scores() -> None:
    dense = np.array([3.0, 2.0, 1.0, 0.0])
    bm25 = np.array([0.0, 0.0, 10.0, 30.0])
    assert list(np.argsort(-blend(dense, bm25, 0.0))) == [0, 1, 2, 3]
    assert list(np.argsort(-blend(dense, bm25, 1.0)))[:2] == [3, 2]
    # scale does not matter, only the spread within each leg
    assert np.allclose(blend(dense, bm25, 0.4), blend(dense * 100 - 7, bm25 / 3, 0.4))
    assert np.allclose(blend(np.ones(3), np.ones(3), 0.5), 0.0)  # no spread, no signal


def test_the_neighbour_score_serves_each_interest_of_a_mixed_library() -> None:
    rng = np.random.default_rng(1)
    a, b = _unit(rng.normal(size=(2, 32)))
    saves = _unit(
        np.vstack([a + 0.2 * rng.normal(size=(8, 32)), b + 0.2 * rng.normal(size=(3, 32))])
    )
    like_b = _unit(b + 0.2 * rng.normal(size=32))[None]
    between = _unit(a + b)[None]
    # the minority interest's papers are close to its few saves, whatever the majority does
    assert neighbour_score(like_b, saves, n=3)[0] > neighbour_score(between, saves, n=3)[0]
    # n larger than the library: the mean over all saves
    assert np.isclose(
        neighbour_score(like_b, saves[:2], n=5)[0], float((saves[:2] @ like_b[0]).mean())
    )


def test_the_neighbour_leg_adds_to_the_blend_only_with_a_weight() -> None:
    dense = np.array([3.0, 2.0, 1.0, 0.0])
    bm25 = np.zeros(4)
    near = np.array([0.0, 0.1, 0.2, 0.9])
    assert np.allclose(blend(dense, bm25, 0.4, near, 0.0), blend(dense, bm25, 0.4))
    assert int(np.argmax(blend(dense, bm25, 0.4, near, 2.0))) == 3
