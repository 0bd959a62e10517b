"""BibTeX for any list of papers, written by pybtex (which quotes and escapes the values).

arXiv papers become ``@misc`` entries with ``eprint``/``archivePrefix``/``primaryClass``, the
form arXiv's own "Export BibTeX citation" gives and biblatex understands; papers with a journal
reference become ``@article``. Keys are ``<first author's last name><year><first title word>``,
made unique with a/b/c suffixes, so a collection exports with stable, readable keys.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from pybtex.database import BibliographyData, Entry, Person

from papersift.service.models import PaperOut

_STOP = {"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "via", "towards"}


def _ascii_word(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", text.lower())


def citation_key(p: PaperOut) -> str:
    last = ""
    if p.authors:
        try:
            last = " ".join(Person(p.authors[0]).last_names)
        except Exception:  # pybtex rejects some malformed names; fall back to the last word
            last = p.authors[0].split()[-1] if p.authors[0].split() else ""
    words = [w for w in (_ascii_word(w) for w in p.title.split()) if w and w not in _STOP]
    year = str(p.published.year) if p.published else ""
    return (_ascii_word(last) or "anon") + year + (words[0] if words else "")


def _persons(authors: Iterable[str]) -> list[Person]:
    out = []
    for name in authors:
        try:
            out.append(Person(name))
        except Exception:  # pragma: no cover - pybtex is lenient; keep the name verbatim
            out.append(Person(last=f"{{{name}}}"))
    return out


def entry(p: PaperOut) -> Entry:
    fields: list[tuple[str, str]] = [("title", "{" + p.title + "}")]
    if p.published:
        fields += [("year", str(p.published.year)), ("month", p.published.strftime("%b").lower())]
    kind = "misc"
    if p.journal_ref:
        kind = "article"
        fields.append(("journal", p.journal_ref))
    if p.arxiv_id:
        fields += [("eprint", p.arxiv_id), ("archivePrefix", "arXiv")]
        if p.primary_category:
            fields.append(("primaryClass", p.primary_category))
    if p.doi:
        fields.append(("doi", p.doi))
    url = p.abs_url or (f"https://arxiv.org/abs/{p.arxiv_id}" if p.arxiv_id else None)
    if url:
        fields.append(("url", url))
    if p.code_urls:
        fields.append(("note", "Code: " + ", ".join(p.code_urls)))
    return Entry(kind, fields=fields, persons={"author": _persons(p.authors)})


def to_bibtex(papers: Iterable[PaperOut]) -> str:
    entries: dict[str, Entry] = {}
    for p in papers:
        base = citation_key(p)
        key, n = base, 0
        while key in entries:
            n += 1
            key = base + chr(ord("a") + (n - 1) % 26) + ("" if n <= 26 else str(n // 26))
        entries[key] = entry(p)
    if not entries:
        return ""
    return str(BibliographyData(entries=entries).to_string("bibtex"))
