"""Clean-up rules shared by every source (identity keys live in :mod:`papersift.ids`)."""

from __future__ import annotations

import html
import re
import unicodedata

from papersift.ids import normalize_doi, paper_id, parse_arxiv_id, title_key
from papersift.records import PaperRecord
from papersift.titles import title_from_abstract

MAX_TITLE = 1_000
MAX_ABSTRACT = 20_000
MAX_AUTHORS = 500
MAX_AUTHOR = 300

_CODE_URL = re.compile(
    r"https?://(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org|huggingface\.co|codeberg\.org)"
    r"/[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
_SPACE = re.compile(r"\s+")


class InvalidRecord(ValueError):
    """A record that cannot be stored at all (no usable title, and no abstract to make one)."""


def clean_text(text: str | None, limit: int) -> str:
    """NFC, no control characters, hard line wraps collapsed, HTML entities decoded, capped.

    Markup stays as text (LaTeX must remain readable; HTML is escaped when rendered).
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFC", html.unescape(str(text)))
    text = _CONTROL.sub("", text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def extract_code_urls(*texts: str | None) -> list[str]:
    """Repository links (GitHub, GitLab, ...) mentioned in an abstract or comment, in order."""
    found: list[str] = []
    for text in texts:
        for m in _CODE_URL.finditer(text or ""):
            url = m.group(0).rstrip(".,;:)]}")
            url = re.sub(r"\.git$", "", url)
            if "huggingface.co/papers" in url.lower():
                continue
            if url.lower() not in {u.lower() for u in found}:
                found.append(url)
    return found


def clean_record(record: PaperRecord) -> PaperRecord:
    """Normalise every field in place-safe fashion and fill derived ones (urls, code links).

    A record with text but no title is titled by its abstract's opening words
    (:mod:`papersift.titles`). Raises :class:`InvalidRecord` when it has neither.
    """
    title = clean_text(record.title, MAX_TITLE)
    abstract = clean_text(record.abstract, MAX_ABSTRACT)
    if not title_key(title):
        title = clean_text(title_from_abstract(abstract), MAX_TITLE)
    if not title_key(title):
        raise InvalidRecord(f"record has no usable title or abstract: {record.title!r:.80}")
    arxiv_id, version = parse_arxiv_id(record.arxiv_id)
    authors = [clean_text(a, MAX_AUTHOR) for a in record.authors[:MAX_AUTHORS]]
    categories = []
    for c in record.categories:
        c = clean_text(c, 40)
        if c and c not in categories:
            categories.append(c)
    comment = clean_text(record.comment, 2_000) or None
    code = list(record.code_urls) + extract_code_urls(abstract, comment)
    code_urls: list[str] = []
    for url in code:
        if url and url.lower() not in {u.lower() for u in code_urls}:
            code_urls.append(url)
    abs_url = record.abs_url
    pdf_url = record.pdf_url
    if arxiv_id:
        abs_url = abs_url or f"https://arxiv.org/abs/{arxiv_id}"
        pdf_url = pdf_url or f"https://arxiv.org/pdf/{arxiv_id}"
    return PaperRecord(
        title=title,
        abstract=abstract,
        authors=[a for a in authors if a],
        source=record.source,
        arxiv_id=arxiv_id,
        version=record.version if record.version is not None else version,
        doi=normalize_doi(record.doi),
        categories=categories,
        published=record.published,
        updated=record.updated,
        comment=comment,
        journal_ref=clean_text(record.journal_ref, 500) or None,
        abs_url=abs_url,
        pdf_url=pdf_url,
        code_urls=code_urls,
        extra=dict(record.extra),
    )


__all__ = [
    "InvalidRecord",
    "clean_record",
    "clean_text",
    "extract_code_urls",
    "normalize_doi",
    "paper_id",
    "parse_arxiv_id",
    "title_key",
]
