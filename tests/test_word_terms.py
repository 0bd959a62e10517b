"""The remembered analyser gives exactly what tantivy's analyser gives, in any thread."""

from __future__ import annotations

import random
import string
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from papersift.index import word_terms
from papersift.index.keyword import KeywordIndex
from papersift.index.snippets import make_snippet
from papersift.index.word_terms import WordTerms, ascii_words

SAMPLES = [
    "Warm-up of the learning rates: AdamW_v2 vs. SGD (lr=3e-4), 10x faster!",
    "We study IL-10/TNF-α signalling in naïve T cells — Ångström-scale résumé",
    "state-of-the-art   tabs\tand\nnewlines\x0bodd\x1fcontrol chars",
    "x" * 45 + " long tokens are dropped " + "y" * 39,
    "$\\mathcal{O}(n \\log n)$ <b>bold</b> &amp; under_scored snake_case 42nd",
    "",
    "   ",
    "Пример текста and 数据 with ﬁ ligature",
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> KeywordIndex:
    return KeywordIndex(Path(tmp_path_factory.mktemp("kw")))


def _random_texts(n: int, seed: int, other: str = "éαβ—ﬁ") -> list[str]:
    """Random words among real ones; ``other`` adds non-ASCII characters (the tantivy path)."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + " -_.,;:()[]{}$\\/'\"\t\n" + other
    words = ["learning", "models", "studies", "running", "the", "of", "IL", "10", "a"]
    out = []
    for _ in range(n):
        parts = [
            rng.choice(words) if rng.random() < 0.5 else "".join(rng.choices(alphabet, k=8))
            for _ in range(rng.randint(0, 30))
        ]
        out.append(" ".join(parts))
    return out


def test_ascii_words_split_as_tantivys_simple_tokenizer() -> None:
    assert ascii_words("AdamW_v2 (lr=3e-4), 10x") == ["AdamW", "v2", "lr", "3e", "4", "10x"]
    assert ascii_words("") == []


def test_analysis_matches_tantivy_on_odd_and_random_text(index: KeywordIndex) -> None:
    tantivy_terms = lambda t: list(index.analyzer.analyze(t))  # noqa: E731
    words = WordTerms(tantivy_terms)
    texts = SAMPLES + _random_texts(300, seed=7) + _random_texts(300, seed=8, other="")
    assert sum(t.isascii() for t in texts) > 300  # both paths are exercised
    query = {"warm", "learn", "rate", "model", "studi", "10", "il", "signal"}
    for text in texts:
        assert words.analyze(text) == tantivy_terms(text), text
    # twice: once learning the words, once from what it remembered
    for _ in range(2):
        found = words.terms_found(texts, query)
        assert found == [set(tantivy_terms(t)) & query for t in texts]
    assert words.of_word("studies") == ("studi",)
    assert words.of_word("state-of-the-art") == ("state", "art")
    assert words.of_word("naïve") == tuple(tantivy_terms("naïve"))


def test_a_full_table_is_forgotten_and_learnt_again(
    index: KeywordIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(word_terms, "MAX_WORDS", 50)
    tantivy_terms = lambda t: list(index.analyzer.analyze(t))  # noqa: E731
    words = WordTerms(tantivy_terms)
    texts = _random_texts(400, seed=11, other="")
    query = {"learn", "model", "studi", "run"}

    def check(chunk: list[str]) -> bool:
        ok = words.terms_found(chunk, query) == [set(tantivy_terms(t)) & query for t in chunk]
        return ok and all(words.analyze(t) == tantivy_terms(t) for t in chunk)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(check, [texts[i : i + 20] for i in range(0, 400, 20)]))
    assert all(results)
    assert len(words._known) <= 50 + 20 * 30  # bounded: reset when it would pass the cap


def test_snippets_highlight_through_the_remembered_words(index: KeywordIndex) -> None:
    text = "We warm up the learning rates. " + "Filler words here. " * 20 + "Warmups and learning."
    snip = make_snippet(text, {"warmup", "learn"}, index.analyze_word, width=10)
    assert snip.matched_terms == ["learning", "Warmups"]  # each word once, as first written
    # the window with the most hits is shown: the end, with both words
    assert snip.to_html().endswith("<mark>Warmups</mark> and <mark>learning</mark>.")
    assert snip.to_html().startswith("… ")


def test_matched_words_list_each_query_term_once_in_the_users_spelling(
    index: KeywordIndex,
) -> None:
    from papersift.index.snippets import one_word_per_term

    query = "learning rate warmup"
    terms = set(index.analyze(query))
    words = ["Learning", "Rates", "learning", "rates", "rate", "Learning-Rate", "warmup-free"]
    shown = one_word_per_term(words, terms, index.analyze_word, query)
    # one per term or term group, the user's own word when the paper has it
    assert shown == ["Learning", "rate", "Learning-Rate", "warmup-free"]
    assert one_word_per_term(["Rates", "rates"], terms, index.analyze_word, query) == ["Rates"]
    assert one_word_per_term(["the", "of"], terms, index.analyze_word, query) == []
