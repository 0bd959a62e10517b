"""Identity keys shared by ingest, store and every index.

Dedup across sources runs on these keys, so they must agree no matter which parser produced the
record: arXiv id without version, then DOI, then a normalised title.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from papersift.records import PaperRecord

_NEW_ID = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?:v(\d+))?(?![\d])")
_OLD_ID = re.compile(r"(?<![\w-])([a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v(\d+))?", re.IGNORECASE)
_DOI = re.compile(r"10\.\d{4,9}/\S+", re.IGNORECASE)
_TITLE_KEY_DROP = re.compile(r"[^\w]+")


def parse_arxiv_id(text: str | None) -> tuple[str | None, int | None]:
    """Find an arXiv id (new ``2403.12345`` or old ``hep-th/9901001`` style) and its version.

    Accepts bare ids, ``arXiv:`` prefixes and abs/pdf URLs, since sources write all three.
    """
    if not text:
        return None, None
    text = text.strip()
    for pattern in (_NEW_ID, _OLD_ID):
        m = pattern.search(text)
        if m:
            version = int(m.group(2)) if m.group(2) else None
            return m.group(1), version
    return None, None


def normalize_doi(text: str | None) -> str | None:
    """Lower-case DOI without resolver prefix; None if the text holds no DOI."""
    if not text:
        return None
    m = _DOI.search(text.strip())
    if not m:
        return None
    return m.group(0).rstrip(".,;)").lower()


def title_key(title: str) -> str:
    """Casefolded title without punctuation or accents: the last-resort dedup key."""
    t = unicodedata.normalize("NFKD", title)
    t = "".join(c for c in t if not unicodedata.combining(c)).casefold()
    return _TITLE_KEY_DROP.sub(" ", t).strip()


def paper_id(record: PaperRecord) -> str:
    """The stable id: ``arxiv:<id>``, else ``doi:<doi>``, else ``title:<hash of title key>``."""
    if record.arxiv_id:
        return f"arxiv:{record.arxiv_id}"
    if record.doi:
        return f"doi:{record.doi}"
    digest = hashlib.sha1(title_key(record.title).encode("utf-8")).hexdigest()[:16]
    return f"title:{digest}"
