"""A user's library in SQL: saved papers, read marks, notes, tags, saved searches."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from papersift.store.db import insert_ignore
from papersift.store.schema import LibraryEntry, SavedSearch, Tag, TagItem, User, Vote, utcnow


def entry(s: Session, user_id: int, paper_num: int, *, create: bool = False) -> LibraryEntry | None:
    row = s.get(LibraryEntry, (user_id, paper_num))
    if row is None and create:
        row = LibraryEntry(user_id=user_id, paper_num=paper_num, updated_at=utcnow())
        s.add(row)
        s.flush()
    return row


def saved_nums(s: Session, user_id: int) -> list[int]:
    """The user's saved papers, newest save first."""
    q = (
        select(LibraryEntry.paper_num)
        .where(LibraryEntry.user_id == user_id, LibraryEntry.saved_at.is_not(None))
        .order_by(LibraryEntry.saved_at.desc())
    )
    return list(s.scalars(q))


def seen_nums(s: Session, user_id: int) -> set[int]:
    """Papers the user has saved, read or voted for: never recommended back to them."""
    lib = s.scalars(select(LibraryEntry.paper_num).where(LibraryEntry.user_id == user_id))
    voted = s.scalars(select(Vote.paper_num).where(Vote.user_id == user_id))
    return set(lib) | set(voted)


def entries_for(s: Session, user_id: int, nums: list[int]) -> dict[int, LibraryEntry]:
    q = select(LibraryEntry).where(
        LibraryEntry.user_id == user_id, LibraryEntry.paper_num.in_(nums)
    )
    return {e.paper_num: e for e in s.scalars(q)}


# -- tags -----------------------------------------------------------------------------------------
def tags_of(s: Session, user_id: int) -> list[tuple[Tag, int]]:
    """The user's tags with their paper counts, by name."""
    q = (
        select(Tag, func.count(TagItem.paper_num))
        .outerjoin(TagItem, TagItem.tag_id == Tag.id)
        .where(Tag.user_id == user_id)
        .group_by(Tag.id)
        .order_by(Tag.name)
    )
    return [(t, int(n)) for t, n in s.execute(q)]


def tag_by_slug(s: Session, user_id: int, slug: str) -> Tag | None:
    return s.scalar(select(Tag).where(Tag.user_id == user_id, Tag.slug == slug))


def public_tag(s: Session, username: str, slug: str) -> tuple[Tag, User] | None:
    row = s.execute(
        select(Tag, User)
        .join(User, User.id == Tag.user_id)
        .where(func.lower(User.username) == username.lower(), Tag.slug == slug)
    ).first()
    return (row[0], row[1]) if row else None


def add_tag(s: Session, user_id: int, name: str, slug: str, is_public: bool) -> Tag:
    tag = Tag(user_id=user_id, name=name, slug=slug, is_public=is_public, created_at=utcnow())
    s.add(tag)
    s.flush()
    return tag


def tag_paper(s: Session, tag_id: int, paper_num: int) -> bool:
    return insert_ignore(
        s, TagItem, {"tag_id": tag_id, "paper_num": paper_num, "added_at": utcnow()}
    )


def untag_paper(s: Session, tag_id: int, paper_num: int) -> bool:
    result = s.execute(
        delete(TagItem).where(TagItem.tag_id == tag_id, TagItem.paper_num == paper_num)
    )
    return bool(getattr(result, "rowcount", 0))


def tag_nums(s: Session, tag_id: int) -> list[int]:
    q = select(TagItem.paper_num).where(TagItem.tag_id == tag_id).order_by(TagItem.added_at.desc())
    return list(s.scalars(q))


def tags_by_paper(s: Session, user_id: int, nums: list[int]) -> dict[int, list[str]]:
    q = (
        select(TagItem.paper_num, Tag.slug)
        .join(Tag, Tag.id == TagItem.tag_id)
        .where(Tag.user_id == user_id, TagItem.paper_num.in_(nums))
        .order_by(Tag.slug)
    )
    out: dict[int, list[str]] = {}
    for num, slug in s.execute(q):
        out.setdefault(num, []).append(slug)
    return out


def untag_everywhere(s: Session, user_id: int, paper_num: int) -> None:
    mine = select(Tag.id).where(Tag.user_id == user_id)
    s.execute(delete(TagItem).where(TagItem.paper_num == paper_num, TagItem.tag_id.in_(mine)))


# -- saved searches -------------------------------------------------------------------------------
def searches_of(s: Session, user_id: int) -> list[SavedSearch]:
    q = select(SavedSearch).where(SavedSearch.user_id == user_id).order_by(SavedSearch.name)
    return list(s.scalars(q))


def search_by_slug(s: Session, user_id: int, slug: str) -> SavedSearch | None:
    return s.scalar(
        select(SavedSearch).where(SavedSearch.user_id == user_id, SavedSearch.slug == slug)
    )
