"""What library functions return: saved papers with the owner's tags, notes and read marks."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from papersift.service.community_models import Card


class TagOut(BaseModel):
    name: str
    slug: str
    owner: str
    is_public: bool
    papers: int = 0
    created_at: datetime


class LibraryItem(BaseModel):
    card: Card
    tags: list[str] = Field(default_factory=list)
    note: str | None = None  # private: only ever shown to its owner
    saved_at: datetime | None = None
    read_at: datetime | None = None


class LibraryOut(BaseModel):
    owner: str
    tag: TagOut | None = Field(None, description="the tag shown, or null for the whole library")
    items: list[LibraryItem]
    total: int


class SavedSearchOut(BaseModel):
    name: str
    slug: str
    query: str
    owner: str
    is_public: bool
    created_at: datetime
