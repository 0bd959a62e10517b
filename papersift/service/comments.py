"""Threaded comments on papers, in markdown rendered safely.

Markdown is rendered by markdown-it-py with raw HTML disabled, then the HTML is cleaned by nh3
(an allow-list sanitiser) so that no markup a commenter writes can run script or restyle the page;
links get ``rel="nofollow noopener noreferrer"``. Authors edit and delete their own comments;
admins remove anybody's. A deleted or removed comment keeps its place so replies stay threaded.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from sqlalchemy import select
from sqlalchemy.orm import Session

from papersift.service.accounts import AccountError, Forbidden, Principal
from papersift.service.catalog import Catalog
from papersift.service.community_models import CommentOut
from papersift.service.searching import NotFound, require_paper
from papersift.store.schema import Comment, Paper, User, utcnow

MAX_COMMENT = 10_000
MAX_DEPTH = 8
_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")
_TAGS = {
    "p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr",
    "h1", "h2", "h3", "h4", "h5", "h6",
}  # fmt: skip


def render_markdown(text: str) -> str:
    html = _md.render(text)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )


def _body(body: str) -> str:
    body = body.strip()
    if not body or len(body) > MAX_COMMENT:
        raise AccountError(f"a comment has 1-{MAX_COMMENT} characters")
    return body


def _out(c: Comment, paper_id: str, author: str | None) -> CommentOut:
    gone = c.deleted_at is not None or c.removed_by is not None
    return CommentOut(
        id=c.id,
        paper_id=paper_id,
        author=None if gone else author,
        parent_id=c.parent_id,
        body=None if gone else c.body,
        body_html=(
            "<p><em>removed by an admin</em></p>"
            if c.removed_by is not None
            else "<p><em>deleted</em></p>"
            if gone
            else render_markdown(c.body)
        ),
        created_at=c.created_at,
        edited_at=c.edited_at,
        deleted=c.deleted_at is not None,
        removed=c.removed_by is not None,
    )


def add(
    catalog: Catalog, who: Principal, paper_id: str, body: str, parent_id: int | None = None
) -> CommentOut:
    body = _body(body)
    with catalog.store.session() as s:
        p = require_paper(s, paper_id)
        if parent_id is not None:
            parent = s.get(Comment, parent_id)
            if parent is None or parent.paper_num != p.num:
                raise NotFound(f"no comment {parent_id} on {p.id}")
            depth, up = 1, parent
            while up.parent_id is not None and depth < MAX_DEPTH:
                up = s.get(Comment, up.parent_id) or up
                depth += 1
            if depth >= MAX_DEPTH:
                raise AccountError("replies nest at most 8 deep; reply further up the thread")
        c = Comment(paper_num=p.num, user_id=who.id, parent_id=parent_id, body=body)
        s.add(c)
        s.flush()
        return _out(c, p.id, who.username)


def _own(s: Session, who: Principal, comment_id: int) -> Comment:
    c = s.get(Comment, comment_id)
    if c is None or c.deleted_at is not None or c.removed_by is not None:
        raise NotFound(f"no comment {comment_id}")
    if c.user_id != who.id:
        raise Forbidden("only its author can change a comment")
    return c


def edit(catalog: Catalog, who: Principal, comment_id: int, body: str) -> CommentOut:
    body = _body(body)
    with catalog.store.session() as s:
        c = _own(s, who, comment_id)
        c.body, c.edited_at = body, utcnow()
        paper = s.get(Paper, c.paper_num)
        return _out(c, paper.id if paper else "", who.username)


def delete(catalog: Catalog, who: Principal, comment_id: int) -> None:
    with catalog.store.session() as s:
        c = _own(s, who, comment_id)
        c.deleted_at = utcnow()


def remove(catalog: Catalog, admin: Principal, comment_id: int) -> None:
    """An admin takes down anybody's comment."""
    if not admin.is_admin:
        raise Forbidden("only an admin can remove other people's comments")
    with catalog.store.session() as s:
        c = s.get(Comment, comment_id)
        if c is None:
            raise NotFound(f"no comment {comment_id}")
        c.removed_by = admin.id


def thread(catalog: Catalog, paper_id: str) -> list[CommentOut]:
    """All comments on a paper as a tree of replies, oldest first at each level."""
    with catalog.store.session() as s:
        p = require_paper(s, paper_id)
        rows = s.execute(
            select(Comment, User.username)
            .join(User, User.id == Comment.user_id)
            .where(Comment.paper_num == p.num)
            .order_by(Comment.created_at, Comment.id)
        ).all()
        by_id = {c.id: _out(c, p.id, name) for c, name in rows}
    roots: list[CommentOut] = []
    for c in by_id.values():
        parent = by_id.get(c.parent_id) if c.parent_id is not None else None
        (parent.replies if parent is not None else roots).append(c)
    return roots
