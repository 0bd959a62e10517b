"""``GET /api/query``: the arXiv API, answered as arXiv's Atom 1.0 feed.

Same parameters, same namespaces (Atom, ``opensearch:``, ``arxiv:``) and the same element names
as export.arxiv.org, so arXiv clients work against papersift by changing only their base URL::

    client = arxiv.Client()
    client.query_url_format = "http://127.0.0.1:8000/api/query?{}"

Faults come back as arXiv does it: HTTP 400 and a feed with one entry titled "Error" whose
summary says what is wrong. Built with lxml, which escapes all text; characters XML cannot carry
at all (control characters) are dropped first.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from lxml import etree

from papersift.service import arxiv_compat
from papersift.service.arxiv_compat import ArxivApiError, ArxivEntry, ArxivPage, ArxivParams
from papersift.web.api import Cat
from papersift.web.ratelimit import limit_search

ATOM_NS = "http://www.w3.org/2005/Atom"
OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"
ARXIV_NS = "http://arxiv.org/schemas/atom"
NSMAP = {None: ATOM_NS, "opensearch": OPENSEARCH_NS, "arxiv": ARXIV_NS}
MEDIA_TYPE = "application/atom+xml; charset=utf-8"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

router = APIRouter(tags=["arXiv API"])


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, tag, {k: _clean(v) for k, v in attrs.items()})
    if text is not None:
        el.text = _clean(text)
    return el


def _atom(name: str) -> str:
    return f"{{{ATOM_NS}}}{name}"


def _feed_head(
    self_url: str, base_url: str, title: str, total: int, start: int, per_page: int
) -> etree._Element:
    feed = etree.Element(_atom("feed"), nsmap=NSMAP)
    _add(feed, _atom("link"), href=self_url, rel="self", type="application/atom+xml")
    _add(feed, _atom("title"), title, type="html")
    digest = base64.urlsafe_b64encode(hashlib.sha1(title.encode()).digest()).decode().rstrip("=")
    _add(feed, _atom("id"), f"{base_url}/api/{digest}")
    _add(feed, _atom("updated"), _stamp(datetime.now(UTC).replace(microsecond=0)))
    _add(feed, f"{{{OPENSEARCH_NS}}}totalResults", str(total))
    _add(feed, f"{{{OPENSEARCH_NS}}}startIndex", str(start))
    _add(feed, f"{{{OPENSEARCH_NS}}}itemsPerPage", str(per_page))
    return feed


def _entry(feed: etree._Element, e: ArxivEntry) -> None:
    entry = _add(feed, _atom("entry"))
    _add(entry, _atom("id"), e.id)
    _add(entry, _atom("updated"), _stamp(e.updated))
    _add(entry, _atom("published"), _stamp(e.published))
    _add(entry, _atom("title"), e.title)
    _add(entry, _atom("summary"), e.summary)
    for name in e.authors:
        _add(_add(entry, _atom("author")), _atom("name"), name)
    if e.doi:
        _add(entry, f"{{{ARXIV_NS}}}doi", e.doi)
        _add(entry, _atom("link"), title="doi", href=f"https://doi.org/{e.doi}", rel="related")
    if e.comment:
        _add(entry, f"{{{ARXIV_NS}}}comment", e.comment)
    if e.journal_ref:
        _add(entry, f"{{{ARXIV_NS}}}journal_ref", e.journal_ref)
    _add(entry, _atom("link"), href=e.abs_url, rel="alternate", type="text/html")
    if e.pdf_url:
        _add(entry, _atom("link"), title="pdf", href=e.pdf_url, rel="related",
             type="application/pdf")  # fmt: skip
    if e.primary_category:
        _add(entry, f"{{{ARXIV_NS}}}primary_category", term=e.primary_category, scheme=ARXIV_NS)
    for c in e.categories:
        _add(entry, _atom("category"), term=c, scheme=ARXIV_NS)


def _query_title(p: ArxivParams) -> str:
    return (
        f"ArXiv Query: search_query={p.search_query}&id_list={','.join(p.id_list)}"
        f"&start={p.start}&max_results={p.max_results}"
    )


def _serialize(feed: etree._Element) -> bytes:
    return bytes(etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def render_feed(page: ArxivPage, *, self_url: str, base_url: str) -> bytes:
    """The Atom document arXiv would send for this page of results."""
    p = page.params
    feed = _feed_head(self_url, base_url, _query_title(p), page.total, p.start, p.max_results)
    for e in page.entries:
        _entry(feed, e)
    return _serialize(feed)


def render_error(message: str, *, query_title: str, self_url: str, base_url: str) -> bytes:
    """arXiv's error answer: a feed of one entry titled "Error", the message as its summary."""
    feed = _feed_head(self_url, base_url, query_title, 1, 0, 1)
    anchor = re.sub(r"[^\w.\-]+", "_", message)[:120]
    entry = _add(feed, _atom("entry"))
    _add(entry, _atom("id"), f"{base_url}/api/errors#{anchor}")
    _add(entry, _atom("title"), "Error")
    _add(entry, _atom("summary"), message)
    _add(entry, _atom("updated"), _stamp(datetime.now(UTC).replace(microsecond=0)))
    _add(entry, _atom("link"), href=f"{base_url}/api/errors#{anchor}", rel="alternate",
         type="text/html")  # fmt: skip
    _add(_add(entry, _atom("author")), _atom("name"), "papersift api")
    return _serialize(feed)


ATOM_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"application/atom+xml": {}}, "description": "Atom 1.0 feed, as arXiv's"},
    400: {"content": {"application/atom+xml": {}}, "description": "feed with one Error entry"},
}


@router.get(
    "/api/query",
    response_class=Response,
    responses=ATOM_RESPONSES,
    dependencies=[Depends(limit_search)],
)
def arxiv_query(
    request: Request,
    cat_: Cat,
    search_query: Annotated[
        str | None, Query(description="arXiv query: ti: au: abs: cat: all: id:, AND OR ANDNOT")
    ] = None,
    id_list: Annotated[str | None, Query(description="comma-separated arXiv ids")] = None,
    start: Annotated[str | None, Query(description="0-based index of the first result")] = None,
    max_results: Annotated[str | None, Query(description="page size, at most 2000")] = None,
    sort_by: Annotated[
        str | None, Query(alias="sortBy", description="relevance, lastUpdatedDate, submittedDate")
    ] = None,
    sort_order: Annotated[
        str | None, Query(alias="sortOrder", description="ascending or descending")
    ] = None,
) -> Response:
    """The arXiv API's query method, answered from this catalogue as arXiv's Atom feed."""
    base_url = str(request.base_url).rstrip("/")
    self_url = str(request.url)
    try:
        params = arxiv_compat.read_params(
            search_query, id_list, start, max_results, sort_by, sort_order
        )
        page = arxiv_compat.query(cat_, params, base_url=base_url)
    except ArxivApiError as exc:
        title = f"ArXiv Query: search_query={search_query or ''}&id_list={id_list or ''}"
        body = render_error(str(exc), query_title=title, self_url=self_url, base_url=base_url)
        return Response(body, status_code=400, media_type=MEDIA_TYPE)
    return Response(render_feed(page, self_url=self_url, base_url=base_url), media_type=MEDIA_TYPE)
