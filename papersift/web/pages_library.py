"""Library pages: saved papers, tags (private, or public at /u/<user>/tags/<slug>), notes, read
marks, recommendations and saved searches.

Every handler acts as the signed-in user: a tag slug or search slug in a URL is looked up among
the viewer's own, so another user's private tag is simply not found (404, never 403: a private
tag's existence is not revealed either).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.convertors import Convertor, register_url_convertor

from papersift.service import community, library, recommending
from papersift.web.api import Cat
from papersift.web.auth import User, Viewer
from papersift.web.pages import TEMPLATES
from papersift.web.pages_account import NextField, back, signed_in, wants_json
from papersift.web.pages_community import paper_url


class SlugConvertor(Convertor[str]):
    """Tag and search slugs (papersift.service.library.slugify): lower-case letters, digits, '-'.

    A narrow pattern keeps /u/<user>/tags/<slug> from swallowing the feed and export routes
    /u/<user>/tags/<slug>.atom and .bib.
    """

    regex = "[a-z0-9][a-z0-9-]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("slug", SlugConvertor())
router = APIRouter(include_in_schema=False)

Flag = Annotated[int, Form()]


# -- library actions on one paper -----------------------------------------------------------------
@router.post("/paper/{paper_id:path}/save")
def save(
    request: Request, cat_: Cat, me: User, paper_id: str, saved: Flag = 1, next_: NextField = ""
) -> Response:
    if saved:
        library.save(cat_, me, paper_id)
    else:
        library.unsave(cat_, me, paper_id)
    card = community.paper_card(cat_, paper_id, viewer=me)
    if wants_json(request):
        return JSONResponse({"paper_id": card.paper.id, "saved": card.saved, "saves": card.saves})
    return back(next_, paper_url(card.paper.id))


@router.post("/paper/{paper_id:path}/tag")
def tag_paper(
    cat_: Cat,
    me: User,
    paper_id: str,
    tag: Annotated[str, Form(max_length=1000)] = "",
    next_: NextField = "",
) -> Response:
    """Add to a tag, existing or new (a new one starts private); the paper is saved too."""
    item = library.tag_paper(cat_, me, tag, paper_id)
    return back(next_, paper_url(item.card.paper.id))


@router.post("/paper/{paper_id:path}/note")
def set_note(
    cat_: Cat,
    me: User,
    paper_id: str,
    note: Annotated[str, Form(max_length=library.MAX_NOTE + 1000)] = "",
    next_: NextField = "",
) -> Response:
    item = library.set_note(cat_, me, paper_id, note)
    return back(next_, paper_url(item.card.paper.id) + "#note")


@router.post("/paper/{paper_id:path}/read")
def mark_read(
    cat_: Cat, me: User, paper_id: str, read: Flag = 1, next_: NextField = ""
) -> Response:
    item = library.mark_read(cat_, me, paper_id, read=bool(read))
    return back(next_, paper_url(item.card.paper.id))


# -- the library and its tags ---------------------------------------------------------------------
@router.get("/library", response_class=HTMLResponse)
def library_page(request: Request, cat_: Cat, me: Viewer, unread: str = "") -> HTMLResponse:
    who = signed_in(me)
    ctx = {
        "lib": library.library(cat_, who, unread=bool(unread)),
        "unread": bool(unread),
        "tags": library.tags(cat_, who),
        "searches": library.searches(cat_, who),
    }
    return TEMPLATES.TemplateResponse(request, "library.html", ctx)


@router.post("/library/tags")
def create_tag(
    cat_: Cat,
    me: User,
    name: Annotated[str, Form(max_length=1000)] = "",
    public: Flag = 0,
) -> Response:
    tag = library.create_tag(cat_, me, name, is_public=bool(public))
    return back(f"/library/tags/{tag.slug}")


@router.get("/library/tags/{slug:slug}", response_class=HTMLResponse)
def own_tag_page(
    request: Request, cat_: Cat, me: Viewer, slug: str, unread: str = ""
) -> HTMLResponse:
    who = signed_in(me)
    lib = library.library(cat_, who, tag=slug, unread=bool(unread))
    ctx = {
        "lib": lib,
        "tag": lib.tag,
        "manage": True,
        "unread": bool(unread),
        "public_url": f"/u/{who.username}/tags/{slug}",
    }
    return TEMPLATES.TemplateResponse(request, "tag.html", ctx)


@router.post("/library/tags/{slug:slug}/visibility")
def set_visibility(cat_: Cat, me: User, slug: str, public: Flag = 0) -> Response:
    library.update_tag(cat_, me, slug, is_public=bool(public))
    return back(f"/library/tags/{slug}")


@router.post("/library/tags/{slug:slug}/rename")
def rename_tag(
    cat_: Cat, me: User, slug: str, name: Annotated[str, Form(max_length=1000)] = ""
) -> Response:
    library.update_tag(cat_, me, slug, name=name)  # the slug, and so every link, stays
    return back(f"/library/tags/{slug}")


@router.post("/library/tags/{slug:slug}/delete")
def delete_tag(cat_: Cat, me: User, slug: str) -> Response:
    library.delete_tag(cat_, me, slug)
    return back("/library")


@router.post("/library/tags/{slug:slug}/remove")
def untag_paper(
    cat_: Cat, me: User, slug: str, paper_id: Annotated[str, Form(max_length=300)] = ""
) -> Response:
    library.untag_paper(cat_, me, slug, paper_id)
    return back(f"/library/tags/{slug}")


@router.get("/u/{username}/tags/{slug:slug}", response_class=HTMLResponse)
def public_tag_page(
    request: Request, cat_: Cat, me: Viewer, username: str, slug: str
) -> HTMLResponse:
    """A public tag for everyone; a private one only for its owner (404 for anybody else)."""
    lib = library.view_tag(cat_, me, username, slug)
    is_owner = me is not None and me.username == lib.owner
    ctx = {
        "lib": lib,
        "tag": lib.tag,
        "manage": False,
        "is_owner": is_owner,
        "unread": False,
        "public_url": f"/u/{lib.owner}/tags/{slug}",
    }
    return TEMPLATES.TemplateResponse(request, "tag.html", ctx)


# -- recommendations ------------------------------------------------------------------------------
@router.get("/recommendations", response_class=HTMLResponse)
def recommendations_page(
    request: Request,
    cat_: Cat,
    me: Viewer,
    tag: Annotated[str, Query(max_length=100)] = "",
    filter_: Annotated[str, Query(alias="filter", max_length=1000)] = "",
) -> HTMLResponse:
    who = signed_in(me)
    recs = recommending.recommend(cat_, who, tag=tag or None, filter=filter_, k=20)
    ctx = {"recs": recs, "tags": library.tags(cat_, who), "tag": tag, "filter": filter_}
    return TEMPLATES.TemplateResponse(request, "recommendations.html", ctx)


# -- saved searches -------------------------------------------------------------------------------
def search_query(
    q: str, author: str = "", cat: str = "", year_from: str = "", year_to: str = "",
    has_code: bool = False,
) -> str:  # fmt: skip
    """The search form's fields written as one query in papersift's query language."""
    parts = [q.strip()]
    if author.strip():
        parts.append(f'author:"{author.replace(chr(34), "").strip()}"')
    if cat.strip():
        parts.append(f"cat:{cat.split()[0]}")
    lo, hi = year_from.strip(), year_to.strip()
    if lo or hi:
        parts.append(f"year:{lo}..{hi}" if lo and hi else f"year:>={lo}" if lo else f"year:<={hi}")
    if has_code:
        parts.append("has:code")
    return " ".join(p for p in parts if p)


@router.post("/searches")
def follow_search(
    cat_: Cat,
    me: User,
    q: Annotated[str, Form(max_length=1000)] = "",
    author: Annotated[str, Form(max_length=200)] = "",
    cat: Annotated[str, Form(max_length=100)] = "",
    year_from: Annotated[str, Form(max_length=10)] = "",
    year_to: Annotated[str, Form(max_length=10)] = "",
    has_code: Annotated[str, Form(max_length=10)] = "",
    next_: NextField = "",
) -> Response:
    """Save the search shown on the page, named after its query, to follow it later."""
    query = search_query(q, author, cat, year_from, year_to, bool(has_code))
    library.save_search(cat_, me, query[:100], query)
    return back(next_, "/library#searches")


@router.post("/searches/{slug:slug}/delete")
def unfollow_search(cat_: Cat, me: User, slug: str, next_: NextField = "") -> Response:
    library.delete_search(cat_, me, slug)
    return back(next_, "/library#searches")
