"""Personal libraries: save papers, tag them into collections, keep notes, mark them read.

Private by default. A tag or saved search can be made public, which publishes its list of papers
(never the owner's notes) at /u/<owner>/tags/<slug>. Every lookup goes through the acting user's
id, and a private tag looks exactly like a missing one to anybody else (404, not 403), so its
existence is not revealed either.
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from papersift.service.accounts import AccountError, Principal
from papersift.service.catalog import Catalog
from papersift.service.community import cards
from papersift.service.library_models import (
    LibraryItem,
    LibraryOut,
    SavedSearchOut,
    TagOut,
)
from papersift.service.searching import NotFound, require_paper
from papersift.store import library as db
from papersift.store.accounts import user_by_username
from papersift.store.papers import papers_by_num
from papersift.store.schema import SavedSearch, Tag, utcnow

MAX_NOTE = 20_000
MAX_NAME = 100


def slugify(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:60]
    if not slug:
        raise AccountError(f"a name needs at least one letter or digit: {name[:40]!r}")
    return slug


def _name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise AccountError(f"a name has 1-{MAX_NAME} characters")
    return name


def _tag_out(tag: Tag, owner: str, count: int) -> TagOut:
    return TagOut(
        name=tag.name,
        slug=tag.slug,
        owner=owner,
        is_public=tag.is_public,
        papers=count,
        created_at=tag.created_at,
    )


def _own_tag(s: Session, who: Principal, slug: str) -> Tag:
    tag = db.tag_by_slug(s, who.id, slug)
    if tag is None:
        raise NotFound(f"you have no tag {slug!r}")
    return tag


# -- saving ---------------------------------------------------------------------------------------
def save(
    catalog: Catalog, who: Principal, paper_id: str, tags: list[str] | None = None
) -> LibraryItem:
    """Save a paper to the library, and into tags (created, private, when new)."""
    with catalog.store.session() as s:
        p = require_paper(s, paper_id)
        e = db.entry(s, who.id, p.num, create=True)
        assert e is not None
        if e.saved_at is None:
            e.saved_at = utcnow()
        e.updated_at = utcnow()
        for name in tags or []:
            tag = _ensure_tag(s, who, name)
            db.tag_paper(s, tag.id, p.num)
    return item(catalog, who, paper_id)


def unsave(catalog: Catalog, who: Principal, paper_id: str) -> None:
    """Remove from the library and from every tag; the note and read mark stay."""
    with catalog.store.session() as s:
        p = require_paper(s, paper_id)
        e = db.entry(s, who.id, p.num)
        if e is not None:
            e.saved_at = None
            e.updated_at = utcnow()
        db.untag_everywhere(s, who.id, p.num)


def set_note(catalog: Catalog, who: Principal, paper_id: str, note: str) -> LibraryItem:
    if len(note) > MAX_NOTE:
        raise AccountError(f"a note has at most {MAX_NOTE} characters")
    with catalog.store.session() as s:
        p = require_paper(s, paper_id)
        e = db.entry(s, who.id, p.num, create=True)
        assert e is not None
        e.note = note.strip() or None
        e.updated_at = utcnow()
    return item(catalog, who, paper_id)


def mark_read(catalog: Catalog, who: Principal, paper_id: str, read: bool = True) -> LibraryItem:
    with catalog.store.session() as s:
        p = require_paper(s, paper_id)
        e = db.entry(s, who.id, p.num, create=True)
        assert e is not None
        e.read_at = utcnow() if read else None
        e.updated_at = utcnow()
    return item(catalog, who, paper_id)


def item(catalog: Catalog, who: Principal, paper_id: str) -> LibraryItem:
    with catalog.store.session() as s:
        p = require_paper(s, paper_id)
        return _items(s, catalog, who, [p.num])[0]


def _items(s: Session, catalog: Catalog, who: Principal, nums: list[int]) -> list[LibraryItem]:
    papers = papers_by_num(s, nums)
    nums = [n for n in nums if n in papers]  # cards() skips missing papers; keep them aligned
    entries = db.entries_for(s, who.id, nums)
    tags = db.tags_by_paper(s, who.id, nums)
    out: list[LibraryItem] = []
    for num, card in zip(nums, cards(s, catalog, nums, who, papers=papers), strict=True):
        e = entries.get(num)
        out.append(
            LibraryItem(
                card=card,
                tags=tags.get(num, []),
                note=e.note if e else None,
                saved_at=e.saved_at if e else None,
                read_at=e.read_at if e else None,
            )
        )
    return out


def library(
    catalog: Catalog, who: Principal, *, tag: str | None = None, unread: bool = False
) -> LibraryOut:
    """The user's saved papers (newest first), or one of their tags."""
    with catalog.store.session() as s:
        tag_out = None
        if tag is not None:
            t = _own_tag(s, who, tag)
            nums = db.tag_nums(s, t.id)
            tag_out = _tag_out(t, who.username, len(nums))
        else:
            nums = db.saved_nums(s, who.id)
        items = _items(s, catalog, who, nums)
    if unread:
        items = [i for i in items if i.read_at is None]
    return LibraryOut(owner=who.username, tag=tag_out, items=items, total=len(items))


# -- tags -----------------------------------------------------------------------------------------
def _ensure_tag(s: Session, who: Principal, name: str, is_public: bool = False) -> Tag:
    name = _name(name)
    slug = slugify(name)
    tag = db.tag_by_slug(s, who.id, slug)
    return tag if tag is not None else db.add_tag(s, who.id, name, slug, is_public)


def create_tag(catalog: Catalog, who: Principal, name: str, *, is_public: bool = False) -> TagOut:
    try:
        with catalog.store.session() as s:
            if db.tag_by_slug(s, who.id, slugify(name)) is not None:
                raise AccountError(f"you already have a tag {name!r}")
            tag = _ensure_tag(s, who, name, is_public)
            return _tag_out(tag, who.username, 0)
    except IntegrityError as exc:
        raise AccountError(f"you already have a tag {name!r}") from exc


def update_tag(
    catalog: Catalog,
    who: Principal,
    slug: str,
    *,
    name: str | None = None,
    is_public: bool | None = None,
) -> TagOut:
    with catalog.store.session() as s:
        tag = _own_tag(s, who, slug)
        if name is not None:
            tag.name = _name(name)
        if is_public is not None:
            tag.is_public = is_public
        return _tag_out(tag, who.username, len(db.tag_nums(s, tag.id)))


def delete_tag(catalog: Catalog, who: Principal, slug: str) -> None:
    """Delete the tag; its papers stay saved in the library."""
    with catalog.store.session() as s:
        s.delete(_own_tag(s, who, slug))


def tags(catalog: Catalog, who: Principal) -> list[TagOut]:
    with catalog.store.session() as s:
        return [_tag_out(t, who.username, n) for t, n in db.tags_of(s, who.id)]


def tag_paper(catalog: Catalog, who: Principal, tag_name: str, paper_id: str) -> LibraryItem:
    """Tag a paper (saving it, and creating the tag if needed)."""
    return save(catalog, who, paper_id, [tag_name])


def untag_paper(catalog: Catalog, who: Principal, slug: str, paper_id: str) -> None:
    with catalog.store.session() as s:
        db.untag_paper(s, _own_tag(s, who, slug).id, require_paper(s, paper_id).num)


def view_tag(catalog: Catalog, viewer: Principal | None, owner: str, slug: str) -> LibraryOut:
    """A tag as ``viewer`` may see it: the owner sees notes; others only a public tag's papers."""
    with catalog.store.session() as s:
        found = db.public_tag(s, owner, slug)
        is_owner = found is not None and viewer is not None and found[1].id == viewer.id
        if found is None or not (found[0].is_public or is_owner):
            raise NotFound(f"no tag {owner}/{slug}")
        tag, user = found
        nums = db.tag_nums(s, tag.id)
        tag_out = _tag_out(tag, user.username, len(nums))
        if is_owner and viewer is not None:
            items = _items(s, catalog, viewer, nums)
        else:
            items = [LibraryItem(card=c) for c in cards(s, catalog, nums, viewer)]
    return LibraryOut(owner=user.username, tag=tag_out, items=items, total=len(items))


# -- saved searches -------------------------------------------------------------------------------
def _search_out(row: SavedSearch, owner: str) -> SavedSearchOut:
    return SavedSearchOut(
        name=row.name,
        slug=row.slug,
        query=row.query,
        owner=owner,
        is_public=row.is_public,
        created_at=row.created_at,
    )


def save_search(
    catalog: Catalog, who: Principal, name: str, query: str, *, is_public: bool = False
) -> SavedSearchOut:
    """Follow a query like a tag; saving under an existing name replaces its query."""
    query = query.strip()
    if not query or len(query) > 1000:
        raise AccountError("a saved search needs a query of 1-1000 characters")
    name = _name(name)
    with catalog.store.session() as s:
        row = db.search_by_slug(s, who.id, slugify(name))
        if row is None:
            row = SavedSearch(
                user_id=who.id,
                name=name,
                slug=slugify(name),
                query=query,
                is_public=is_public,
                created_at=utcnow(),
            )
            s.add(row)
        else:
            row.query, row.is_public = query, is_public
        s.flush()
        return _search_out(row, who.username)


def delete_search(catalog: Catalog, who: Principal, slug: str) -> None:
    with catalog.store.session() as s:
        row = db.search_by_slug(s, who.id, slug)
        if row is None:
            raise NotFound(f"you have no saved search {slug!r}")
        s.delete(row)


def searches(catalog: Catalog, who: Principal) -> list[SavedSearchOut]:
    with catalog.store.session() as s:
        return [_search_out(r, who.username) for r in db.searches_of(s, who.id)]


def view_search(
    catalog: Catalog, viewer: Principal | None, owner: str, slug: str
) -> SavedSearchOut:
    with catalog.store.session() as s:
        user = user_by_username(s, owner)
        row = db.search_by_slug(s, user.id, slug) if user else None
        if user is None or row is None or not (row.is_public or (viewer and viewer.id == user.id)):
            raise NotFound(f"no saved search {owner}/{slug}")
        return _search_out(row, user.username)
