"""Snippets of texts with nothing to highlight (the window with the most hits is checked in
test_word_terms.py and test_fusion.py)."""

from __future__ import annotations

from papersift.index.snippets import make_snippet


def analyze(word: str) -> list[str]:
    return [word.lower()]


def test_no_query_terms_shows_the_opening_words() -> None:
    text = " ".join(f"w{i}" for i in range(100))
    snip = make_snippet(text, set(), analyze, width=10)
    assert snip.text == " ".join(f"w{i}" for i in range(10)) + " …"
    assert snip.matched_terms == []


def test_text_without_words_is_shown_cut() -> None:
    assert make_snippet("— … —" * 100, {"x"}, analyze).text == ("— … —" * 100)[:300]
