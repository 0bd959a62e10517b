"""Atom and RSS 2.0 feeds of paper lists, written by feedgen.

Entry ids are the paper's papersift URL (stable across re-ingests); ``updated`` is the paper's
last-updated date, so a reader shows a paper again only when it changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import Literal
from urllib.parse import quote

from feedgen.feed import FeedGenerator
from lxml import etree

from papersift import __version__
from papersift.service.models import PaperOut

FeedFormat = Literal["atom", "rss"]
MEDIA_TYPES = {"atom": "application/atom+xml", "rss": "application/rss+xml"}


def paper_url(base_url: str, p: PaperOut) -> str:
    return f"{base_url.rstrip('/')}/paper/{quote(p.id, safe=':')}"


def _when(day: object) -> datetime:
    if isinstance(day, datetime):
        return day.replace(tzinfo=UTC)
    if day is not None:
        return datetime.combine(day, time(), tzinfo=UTC)  # type: ignore[arg-type]
    return datetime(1970, 1, 1, tzinfo=UTC)


def render(
    papers: Sequence[PaperOut],
    *,
    title: str,
    self_url: str,
    page_url: str,
    base_url: str,
    fmt: FeedFormat = "atom",
    subtitle: str = "",
) -> bytes:
    fg = FeedGenerator()
    fg.id(self_url)
    fg.title(title)
    fg.subtitle(subtitle or title)
    fg.link(href=page_url, rel="alternate")
    fg.link(href=self_url, rel="self")
    fg.generator("papersift", __version__)
    newest = max((_when(p.updated or p.published) for p in papers), default=_when(None))
    fg.updated(newest)
    for p in reversed(papers):  # feedgen prepends entries: add in reverse to keep our order
        fe = fg.add_entry()
        url = paper_url(base_url, p)
        fe.id(url)
        fe.title(p.title)
        fe.link(href=url, rel="alternate")
        if p.pdf_url:
            fe.link(href=p.pdf_url, rel="related", type="application/pdf", title="pdf")
        for name in p.authors[:50]:
            fe.author({"name": name})
        summary = p.abstract or p.title
        if p.code_urls:
            summary += "\n\nCode: " + " ".join(p.code_urls)
        fe.summary(summary)
        fe.published(_when(p.published))
        fe.updated(_when(p.updated or p.published))
        for c in p.categories:
            fe.category(term=c)
    if fmt == "rss":
        return bytes(fg.rss_str(pretty=True))
    return _restore_link_attributes(bytes(fg.atom_str(pretty=True)), papers)


def _restore_link_attributes(atom: bytes, papers: Sequence[PaperOut]) -> bytes:
    """Put back the ``rel``/``type`` of entry links that feedgen 1.0 drops when writing Atom.

    Without them every link reads as rel="alternate" (RFC 4287's default), and readers open the
    PDF instead of the paper page.
    """
    root = etree.fromstring(atom)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    for entry, p in zip(root.findall("a:entry", ns), papers, strict=True):
        links = entry.findall("a:link", ns)
        if links:
            links[0].set("rel", "alternate")
        if p.pdf_url and len(links) > 1:
            links[1].attrib.update({"rel": "related", "type": "application/pdf", "title": "pdf"})
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
