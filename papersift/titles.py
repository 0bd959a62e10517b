"""Titles for records that come without one, and how ranking tells them apart.

A CSV of notes, a forum dump or a BEIR corpus such as FiQA or Quora holds texts with no title.
Refusing them loses the whole file, yet every page, feed and export shows a title. So such a
record gets a display title made of its abstract's opening words, and everything that ranks
(the keyword index, the encoder, the rerank's coverage features) sees the abstract alone:
repeating the opening words as a title would weigh them twice.

A made title is recognised again from the two texts (:func:`is_made_title`), not from a flag
kept beside it, so every store and every older record reads the same way, and a future change
of the rule still recognises what an older one made.
"""

from __future__ import annotations

ELLIPSIS = "…"
MAX_WORDS = 20  # a made title stops here at the latest ...
MIN_WORDS = 4  # ... and at the first sentence end after this many words
MAX_CHARS = 200  # and is cut inside a word if its words are that long (URLs, unspaced text)
_SENTENCE_END = (".", "?", "!")


def title_from_abstract(abstract: str) -> str:
    """The abstract's first sentence, or its first MAX_WORDS words and an ellipsis.

    "" for an abstract without words. A sentence end counts only after MIN_WORDS words, so
    "Yes. Index funds ..." is not titled "Yes.".
    """
    parts = abstract.split(maxsplit=MAX_WORDS)  # the words wanted, then the rest in one piece
    words = parts[:MAX_WORDS]
    taken: list[str] = []
    for word in words:
        taken.append(word)
        if len(taken) >= MIN_WORDS and word.endswith(_SENTENCE_END):
            return " ".join(taken)
        if len(" ".join(taken)) > MAX_CHARS:
            break
    title = " ".join(taken)
    if len(title) > MAX_CHARS:
        return title[:MAX_CHARS].rstrip() + ELLIPSIS
    clipped = len(parts) > len(taken)
    return title + ELLIPSIS if clipped else title


def is_made_title(title: str, abstract: str) -> bool:
    """Whether ``title`` is the abstract's own opening words as :func:`title_from_abstract`
    makes them: the abstract's first words, ending where a sentence ends, in an ellipsis, or
    where the abstract does (whatever the rule's word limits were when it was made).

    A real title that the abstract begins with word for word ("The Protein Data Bank" before
    "The Protein Data Bank (PDB) is ...") ends in none of those, so it stays a title.
    """
    words = title.removesuffix(ELLIPSIS).split()
    if not words or not abstract:
        return False
    opening = abstract[: len(title) + 8 * len(words) + 64].split()[: len(words) + 1]
    if len(opening) < len(words) or opening[: len(words) - 1] != words[:-1]:
        return False
    last = opening[len(words) - 1]
    if title.endswith(ELLIPSIS):  # the last word may have been cut short
        return last.startswith(words[-1])
    if last != words[-1]:
        return False
    return words[-1].endswith(_SENTENCE_END) or len(opening) == len(words)


def ranked_title(title: str, abstract: str) -> str:
    """The title as ranking sees it: "" for a made title."""
    return "" if is_made_title(title, abstract) else title
