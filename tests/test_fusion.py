"""Fusion math and snippet escaping, checked by hand."""

from __future__ import annotations

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
