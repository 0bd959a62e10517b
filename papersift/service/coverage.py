"""The rerank's coverage features for one query, worked out per paper and remembered.

A hybrid search waits for its keyword leg (on the other core) after the vector leg is done: at
2.7M papers the keyword leg of a long title takes ~10 ms longer. The semantic leg's papers are
most of the candidates the rerank will read, so their coverage rows are worked out in that wait
(:func:`papersift.service.searching.search`), and after fusion only the keyword leg's own papers
are left to read and analyse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from papersift.rank import rerank as reranking
from papersift.service.catalog import Catalog
from papersift.store.papers import texts_by_num
from papersift.titles import ranked_title

TextsOf = Callable[[Sequence[int]], Mapping[int, tuple[str, str]]]
"""Paper numbers -> (title, abstract) of those found."""


class Coverage:
    """``coverage(nums)``: :func:`reranking.term_coverage` rows of those papers for one query
    (the query's idf-weighted terms found in each paper's title and abstract, analysed as the
    keyword index analyses them); ``add(nums)`` works rows out ahead of being asked.

    ``texts_of`` reads the papers' texts (default: from the store, in a session of its own).
    A paper the store lacks has no terms (a zero row).
    """

    def __init__(self, catalog: Catalog, text: str, texts_of: TextsOf | None = None) -> None:
        self._catalog = catalog
        self._text = text
        self._texts_of = texts_of or self._own_session
        self._weights: dict[str, float] | None = None
        self._rows: dict[int, np.ndarray] = {}

    def _own_session(self, nums: Sequence[int]) -> Mapping[int, tuple[str, str]]:
        with self._catalog.store.session() as s:
            return texts_by_num(s, nums)

    def add(self, nums: Sequence[int]) -> None:
        todo = [n for n in dict.fromkeys(nums) if n not in self._rows]
        if not todo:
            return
        kw = self._catalog.keyword
        if self._weights is None:
            self._weights = kw.term_weights(self._text)
        texts = self._texts_of(todo)
        pairs = [(ranked_title(*pair), pair[1]) for pair in (texts.get(n, ("", "")) for n in todo)]
        found = kw.terms_found([t for pair in pairs for t in pair], self._weights)
        rows = reranking.term_coverage(
            self._weights, list(zip(found[::2], found[1::2], strict=True))
        )
        self._rows.update(zip(todo, rows, strict=True))

    def __call__(self, nums: Sequence[int]) -> np.ndarray:
        self.add(nums)
        return np.array([self._rows[n] for n in nums], dtype=np.float64).reshape(len(nums), 2)
