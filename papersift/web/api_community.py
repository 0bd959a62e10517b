"""The JSON API for accounts, votes, daily lists, trending, comments, libraries and recommendations.

Authenticate with ``Authorization: Bearer ps_...`` (create a token with ``POST /api/auth/token``
or on /settings). Every mutating endpoint acts as the authenticated user only: no endpoint takes a
user id, so no request can touch another user's votes, tags or notes.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from papersift.index.query import PUBLIC_QUERY_CHARS
from papersift.service import accounts, comments, community, library, recommending
from papersift.service.accounts import NewTokenOut, TokenOut, UserOut
from papersift.service.community_models import (
    Card,
    CommentOut,
    ListSort,
    PaperListOut,
    VoteOut,
    Window,
)
from papersift.service.dates import period_range
from papersift.service.library_models import LibraryItem, LibraryOut, SavedSearchOut, TagOut
from papersift.service.recommending import RecommendationsOut
from papersift.web.api import Cat
from papersift.web.auth import User, Viewer
from papersift.web.ratelimit import limit_login

router = APIRouter(prefix="/api")
NO_CONTENT = Response(status_code=204)


# -- accounts -------------------------------------------------------------------------------------
class SignUp(BaseModel):
    username: str = Field(max_length=40)
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class TokenRequest(BaseModel):
    login: str = Field(max_length=320, description="username or email")
    password: str = Field(max_length=1024)
    name: str = Field("", max_length=100, description="a label for the token, e.g. 'laptop'")


@router.post(
    "/auth/signup",
    response_model=UserOut,
    status_code=201,
    tags=["accounts"],
    dependencies=[Depends(limit_login)],
)
def sign_up(cat_: Cat, body: SignUp) -> UserOut:
    """Create an account (the first account on a server is its admin)."""
    return accounts.sign_up(cat_, body.username, body.email, body.password).out()


@router.post(
    "/auth/token",
    response_model=NewTokenOut,
    status_code=201,
    tags=["accounts"],
    dependencies=[Depends(limit_login)],
)
def token_for_password(cat_: Cat, body: TokenRequest) -> NewTokenOut:
    """Exchange a username/email and password for an API token (shown once)."""
    who = accounts.authenticate(cat_, body.login, body.password)
    return accounts.create_token(cat_, who, body.name)


@router.get("/me", response_model=UserOut, tags=["accounts"])
def me(who: User) -> UserOut:
    return who.out()


@router.get("/tokens", response_model=list[TokenOut], tags=["accounts"])
def list_tokens(cat_: Cat, who: User) -> list[TokenOut]:
    return accounts.list_tokens(cat_, who)


@router.post("/tokens", response_model=NewTokenOut, status_code=201, tags=["accounts"])
def new_token(cat_: Cat, who: User, name: str = "") -> NewTokenOut:
    return accounts.create_token(cat_, who, name)


@router.delete("/tokens/{token_id}", status_code=204, tags=["accounts"])
def revoke_token(cat_: Cat, who: User, token_id: int) -> Response:
    try:
        accounts.revoke_token(cat_, who, token_id)
    except LookupError as exc:
        from papersift.service.searching import NotFound

        raise NotFound(str(exc)) from exc
    return NO_CONTENT


# -- votes, cards, comments -----------------------------------------------------------------------
@router.get("/paper/{paper_id:path}/card", response_model=Card, tags=["community"])
def card(cat_: Cat, viewer: Viewer, paper_id: str) -> Card:
    """A paper with its votes, saves, comment count, trending terms and your own state."""
    return community.paper_card(cat_, paper_id, viewer)


@router.post("/paper/{paper_id:path}/vote", response_model=VoteOut, tags=["community"])
def vote(cat_: Cat, who: User, paper_id: str) -> VoteOut:
    """Upvote a paper (once per user; repeating is harmless)."""
    return community.vote(cat_, who, paper_id)


@router.delete("/paper/{paper_id:path}/vote", response_model=VoteOut, tags=["community"])
def unvote(cat_: Cat, who: User, paper_id: str) -> VoteOut:
    """Take your vote back."""
    return community.vote(cat_, who, paper_id, up=False)


class CommentIn(BaseModel):
    body: str = Field(max_length=10_000, description="markdown")
    parent_id: int | None = None


@router.get("/paper/{paper_id:path}/comments", response_model=list[CommentOut], tags=["community"])
def thread(cat_: Cat, paper_id: str) -> list[CommentOut]:
    return comments.thread(cat_, paper_id)


@router.post(
    "/paper/{paper_id:path}/comments",
    response_model=CommentOut,
    status_code=201,
    tags=["community"],
)
def comment(cat_: Cat, who: User, paper_id: str, body: CommentIn) -> CommentOut:
    return comments.add(cat_, who, paper_id, body.body, body.parent_id)


class CommentEdit(BaseModel):
    body: str = Field(max_length=10_000)


@router.patch("/comments/{comment_id}", response_model=CommentOut, tags=["community"])
def edit_comment(cat_: Cat, who: User, comment_id: int, body: CommentEdit) -> CommentOut:
    """Edit your own comment."""
    return comments.edit(cat_, who, comment_id, body.body)


@router.delete("/comments/{comment_id}", status_code=204, tags=["community"])
def delete_comment(cat_: Cat, who: User, comment_id: int, remove: bool = False) -> Response:
    """Delete your own comment; an admin removes anybody's with ``?remove=true``."""
    if remove:
        comments.remove(cat_, who, comment_id)
    else:
        comments.delete(cat_, who, comment_id)
    return NO_CONTENT


# -- daily lists and trending ---------------------------------------------------------------------
class Submission(BaseModel):
    paper_id: str = Field(max_length=300)
    day: date | None = Field(None, description="admins only; default today (UTC)")


class SubmissionOut(BaseModel):
    paper_id: str
    day: date
    added: bool = Field(description="false when the paper was already on that day's list")


@router.post("/daily", response_model=SubmissionOut, tags=["community"])
def submit(cat_: Cat, who: User, body: Submission) -> SubmissionOut:
    """Put a paper on today's list."""
    pid, day, added = community.submit(cat_, who, body.paper_id, body.day)
    return SubmissionOut(paper_id=pid, day=day, added=added)


@router.get("/daily", response_model=PaperListOut, tags=["community"])
def daily(
    cat_: Cat,
    viewer: Viewer,
    date_: Annotated[str | None, Query(alias="date", description="YYYY-MM-DD")] = None,
    week: Annotated[str | None, Query(description="ISO week, YYYY-Www")] = None,
    month: Annotated[str | None, Query(description="YYYY-MM")] = None,
    sort: ListSort = "votes",
    submitter: str | None = None,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 30,
) -> PaperListOut:
    """A day's (or week's, or month's) list: submitted papers plus the automatic feed."""
    start, end = period_range(date_, week, month, community.today())
    return community.daily(
        cat_,
        start,
        end,
        viewer=viewer,
        sort=sort,
        submitter=submitter,
        page=page,
        page_size=page_size,
    )


@router.get("/trending", response_model=PaperListOut, tags=["community"])
def trending(
    cat_: Cat,
    viewer: Viewer,
    window: Window = "week",
    sort: ListSort = "trending",
    has_code: bool = False,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 30,
) -> PaperListOut:
    """Trending papers; each card carries the terms of its score (see the README's formula)."""
    return community.trending(
        cat_,
        window=window,
        sort=sort,
        viewer=viewer,
        has_code=has_code,
        page=page,
        page_size=page_size,
    )


# -- library, tags, saved searches ----------------------------------------------------------------
class SaveIn(BaseModel):
    tags: list[str] = Field(default_factory=list, max_length=50)


class NoteIn(BaseModel):
    note: str = Field(max_length=20_000)


class ReadIn(BaseModel):
    read: bool = True


@router.get("/library", response_model=LibraryOut, tags=["library"])
def my_library(cat_: Cat, who: User, tag: str | None = None, unread: bool = False) -> LibraryOut:
    """Your saved papers (or one of your tags), with your notes and read marks."""
    return library.library(cat_, who, tag=tag, unread=unread)


@router.put("/library/{paper_id:path}/note", response_model=LibraryItem, tags=["library"])
def set_note(cat_: Cat, who: User, paper_id: str, body: NoteIn) -> LibraryItem:
    """Your private note on a paper."""
    return library.set_note(cat_, who, paper_id, body.note)


@router.put("/library/{paper_id:path}/read", response_model=LibraryItem, tags=["library"])
def set_read(cat_: Cat, who: User, paper_id: str, body: ReadIn) -> LibraryItem:
    return library.mark_read(cat_, who, paper_id, body.read)


@router.put("/library/{paper_id:path}", response_model=LibraryItem, tags=["library"])
def save(cat_: Cat, who: User, paper_id: str, body: SaveIn | None = None) -> LibraryItem:
    """Save a paper, optionally into tags (created private when new)."""
    return library.save(cat_, who, paper_id, body.tags if body else [])


@router.delete("/library/{paper_id:path}", status_code=204, tags=["library"])
def unsave(cat_: Cat, who: User, paper_id: str) -> Response:
    library.unsave(cat_, who, paper_id)
    return NO_CONTENT


class TagIn(BaseModel):
    name: str = Field(max_length=100)
    public: bool = False


class TagPatch(BaseModel):
    name: str | None = Field(None, max_length=100)
    public: bool | None = None


class TagPaperIn(BaseModel):
    paper_id: str = Field(max_length=300)


@router.get("/tags", response_model=list[TagOut], tags=["library"])
def my_tags(cat_: Cat, who: User) -> list[TagOut]:
    return library.tags(cat_, who)


@router.post("/tags", response_model=TagOut, status_code=201, tags=["library"])
def create_tag(cat_: Cat, who: User, body: TagIn) -> TagOut:
    return library.create_tag(cat_, who, body.name, is_public=body.public)


@router.patch("/tags/{slug}", response_model=TagOut, tags=["library"])
def update_tag(cat_: Cat, who: User, slug: str, body: TagPatch) -> TagOut:
    """Rename a tag or make it public/private."""
    return library.update_tag(cat_, who, slug, name=body.name, is_public=body.public)


@router.delete("/tags/{slug}", status_code=204, tags=["library"])
def delete_tag(cat_: Cat, who: User, slug: str) -> Response:
    library.delete_tag(cat_, who, slug)
    return NO_CONTENT


@router.post("/tags/{slug}/papers", response_model=LibraryItem, tags=["library"])
def tag_paper(cat_: Cat, who: User, slug: str, body: TagPaperIn) -> LibraryItem:
    return library.tag_paper(cat_, who, slug, body.paper_id)


@router.delete("/tags/{slug}/papers/{paper_id:path}", status_code=204, tags=["library"])
def untag_paper(cat_: Cat, who: User, slug: str, paper_id: str) -> Response:
    library.untag_paper(cat_, who, slug, paper_id)
    return NO_CONTENT


@router.get("/users/{username}/tags/{slug}", response_model=LibraryOut, tags=["library"])
def view_tag(cat_: Cat, viewer: Viewer, username: str, slug: str) -> LibraryOut:
    """A public tag (or your own): 404 for anybody else's private tag."""
    return library.view_tag(cat_, viewer, username, slug)


class SearchIn(BaseModel):
    name: str = Field(max_length=100)
    query: str = Field(max_length=PUBLIC_QUERY_CHARS)
    public: bool = False


@router.get("/searches", response_model=list[SavedSearchOut], tags=["library"])
def my_searches(cat_: Cat, who: User) -> list[SavedSearchOut]:
    return library.searches(cat_, who)


@router.post("/searches", response_model=SavedSearchOut, status_code=201, tags=["library"])
def save_search(cat_: Cat, who: User, body: SearchIn) -> SavedSearchOut:
    """Follow a search like a tag (feed, digest, recommendation filter)."""
    return library.save_search(cat_, who, body.name, body.query, is_public=body.public)


@router.delete("/searches/{slug}", status_code=204, tags=["library"])
def delete_search(cat_: Cat, who: User, slug: str) -> Response:
    library.delete_search(cat_, who, slug)
    return NO_CONTENT


@router.get("/recommendations", response_model=RecommendationsOut, tags=["library"])
def recommendations(
    cat_: Cat,
    who: User,
    tag: str | None = None,
    filter: Annotated[
        str, Query(max_length=PUBLIC_QUERY_CHARS, description="query-language filters")
    ] = "",
    k: Annotated[int, Query(ge=1, le=100)] = 20,
) -> RecommendationsOut:
    """Unseen papers ranked by a model of what you saved (or what one tag holds)."""
    return recommending.recommend(cat_, who, tag=tag, filter=filter, k=k)
