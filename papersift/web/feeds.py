"""Atom/RSS feeds of searches, trending, daily lists, public tags and saved searches; BibTeX.

Feed readers carry no cookies, so feeds show what is public: a private tag's feed answers 404
unless the request itself is authenticated as its owner (session cookie or API token).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from papersift.export import bibtex, feeds
from papersift.index.query import PUBLIC_QUERY_CHARS
from papersift.service import community, library, searching
from papersift.service.models import Mode, PaperOut
from papersift.web.api import Cat
from papersift.web.auth import User, Viewer
from papersift.web.ratelimit import limit_search

router = APIRouter(tags=["feeds"])
Fmt = Literal["atom", "rss"]
FEED_SIZE = 50


def _feed(
    request: Request, cat_: Cat, papers: list[PaperOut], title: str, page: str, fmt: Fmt
) -> Response:
    base = cat_.settings.base_url.rstrip("/")
    body = feeds.render(
        papers,
        title=f"papersift: {title}",
        self_url=base
        + str(request.url.path)
        + (f"?{request.url.query}" if request.url.query else ""),
        page_url=base + page,
        base_url=base,
        fmt=fmt,
    )
    return Response(body, media_type=feeds.MEDIA_TYPES[fmt] + "; charset=utf-8")


def _bib(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="application/x-bibtex; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{name}.bib"'},
    )


@router.get("/paper/{paper_id:path}.bib")
def paper_bibtex(cat_: Cat, paper_id: str) -> Response:
    """One paper as a BibTeX entry (``/paper/<id>.bib``, beside the paper's page)."""
    paper = searching.get(cat_, paper_id)
    return _bib(bibtex.to_bibtex([paper]), bibtex.citation_key(paper))


@router.get("/u/{username}/tags/{slug}.bib")
def tag_bibtex(cat_: Cat, viewer: Viewer, username: str, slug: str) -> Response:
    """A tag as BibTeX (public tags, or your own)."""
    out = library.view_tag(cat_, viewer, username, slug)
    return _bib(bibtex.to_bibtex(i.card.paper for i in out.items), slug)


@router.get("/library.bib")
def library_bibtex(cat_: Cat, who: User) -> Response:
    """Your whole library as BibTeX."""
    out = library.library(cat_, who)
    return _bib(bibtex.to_bibtex(i.card.paper for i in out.items), "library")


@router.get("/feeds/search.{fmt}", dependencies=[Depends(limit_search)])
def search_feed(
    request: Request,
    cat_: Cat,
    fmt: Fmt,
    q: Annotated[str, Query(max_length=PUBLIC_QUERY_CHARS)] = "",
    sort: Literal["date", "relevance"] = "date",
    mode: Mode = "keyword",
) -> Response:
    """The newest (or most relevant) papers matching a search.

    Keyword mode by default: a feed sorted by date should hold papers that match the words, and
    semantic search ranks every paper, matching or not.
    """
    out = searching.search(cat_, q, sort=sort, mode=mode, page_size=FEED_SIZE)
    papers = [h.paper for h in out.hits]
    return _feed(request, cat_, papers, f"search {q!r}", "/?" + urlencode({"q": q}), fmt)


@router.get("/feeds/trending.{fmt}")
def trending_feed(
    request: Request,
    cat_: Cat,
    fmt: Fmt,
    window: community.Window = "week",
) -> Response:
    """Trending papers of the day, week or month."""
    out = community.trending(cat_, window=window, page_size=FEED_SIZE)
    return _feed(
        request, cat_, [c.paper for c in out.cards], f"trending ({window})", "/trending", fmt
    )


@router.get("/feeds/daily.{fmt}")
def daily_feed(request: Request, cat_: Cat, fmt: Fmt) -> Response:
    """The daily lists of the last seven days, newest day first."""
    end = community.today()
    out = community.daily(cat_, end - timedelta(days=6), end, sort="newest", page_size=100)
    return _feed(request, cat_, [c.paper for c in out.cards], "daily papers", "/daily", fmt)


@router.get("/u/{username}/tags/{slug}.{fmt}")
def tag_feed(
    request: Request, cat_: Cat, viewer: Viewer, username: str, slug: str, fmt: Fmt
) -> Response:
    """A public tag's papers, most recently added first."""
    out = library.view_tag(cat_, viewer, username, slug)
    papers = [i.card.paper for i in out.items][:FEED_SIZE]
    title = f"{out.owner}'s {out.tag.name if out.tag else slug}"
    return _feed(request, cat_, papers, title, f"/u/{username}/tags/{slug}", fmt)


@router.get("/u/{username}/searches/{slug}.{fmt}", dependencies=[Depends(limit_search)])
def saved_search_feed(
    request: Request, cat_: Cat, viewer: Viewer, username: str, slug: str, fmt: Fmt
) -> Response:
    """New papers matching a public saved search."""
    saved = library.view_search(cat_, viewer, username, slug)
    out = searching.search(cat_, saved.query, sort="date", mode="keyword", page_size=FEED_SIZE)
    return _feed(
        request,
        cat_,
        [h.paper for h in out.hits],
        f"{saved.owner}'s search {saved.name!r}",
        f"/?q={saved.query}",
        fmt,
    )
