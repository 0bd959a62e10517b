"""The keyword analyser's terms, remembered per word.

A hybrid search analyses its top papers' titles and abstracts twice: which query terms each
holds (the rerank's coverage features) and which words to highlight (snippets). Through tantivy
that was ~4,000 analyser calls and ~20 ms a search. Every filter after tantivy's simple
tokenizer works on one token alone, so in ASCII text the terms of a text are the terms of its
words, one term or none each, and the same words recur from search to search. Text with other
characters goes to tantivy whole, so its Unicode rules stay tantivy's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence

# tantivy's simple tokenizer splits at every character that is not alphanumeric: in ASCII text,
# at all but A-Z, a-z and 0-9. Translating those to spaces and splitting is ~2x faster than a
# regular expression, and the tokenizing is most of what is left of the cost.
_SPACES = bytes(c if chr(c).isascii() and chr(c).isalnum() else 32 for c in range(256))
MAX_WORDS = 200_000  # distinct words remembered (~130 B each, ~25 MB); then forgotten


def ascii_words(text: str) -> list[str]:
    """tantivy's simple tokens of an ASCII text."""
    return text.encode("ascii").translate(_SPACES).decode("ascii").split()


class WordTerms:
    """``analyze`` with each distinct ASCII word's term remembered ("" for a dropped word)."""

    def __init__(self, analyze: Callable[[str], Sequence[str]]) -> None:
        self._analyze = analyze
        self._known: dict[str, str] = {}  # only added to, or replaced whole when full
        self._lock = threading.Lock()

    def of_word(self, word: str) -> tuple[str, ...]:
        """The terms of one word as a snippet sees it ("state-of-the-art" is four)."""
        term = self._known.get(word)  # a known word is one plain token
        if term is not None:
            return (term,) if term else ()
        if not word.isascii():
            return tuple(self._analyze(word))
        words = ascii_words(word)
        known = self._table(words)
        return tuple(t for t in map(known.__getitem__, words) if t)

    def analyze(self, text: str) -> list[str]:
        """The terms of a text in order, exactly as the analyser gives them."""
        if not text.isascii():
            return list(self._analyze(text))
        words = ascii_words(text)
        known = self._table(words)
        return [t for t in map(known.__getitem__, words) if t]

    def terms_found(self, texts: Sequence[str], terms: Collection[str]) -> list[set[str]]:
        """For each text, which of ``terms`` it holds: ``set(analyze(text)) & terms``.

        The texts' distinct words are looked up once for all of them; each text's own words are
        then matched, as sets, against the few that give a wanted term.
        """
        wanted = set(terms)
        words = [set(ascii_words(t)) if t.isascii() else None for t in texts]
        vocab: set[str] = set().union(*(w for w in words if w is not None))
        known = self._table(vocab)
        giving = {w for w in vocab if known[w] in wanted}
        out: list[set[str]] = []
        for text, ws in zip(texts, words, strict=True):
            if ws is None:
                out.append(set(self._analyze(text)) & wanted)
            else:
                out.append({known[w] for w in ws & giving})
        return out

    def _table(self, words: Collection[str]) -> dict[str, str]:
        """A table that holds every one of ``words`` (learning those it lacks)."""
        known = self._known
        if all(w in known for w in words):
            return known
        with self._lock:  # the table may have been replaced meanwhile: look again
            known = self._known
            new = [w for w in words if w not in known]
            if len(known) + len(new) > MAX_WORDS:
                known = self._known = {}
                new = list(dict.fromkeys(words))
            for w in new:
                terms = self._analyze(w)  # one token in, so one term out or none
                known[w] = terms[0] if terms else ""
            return known
