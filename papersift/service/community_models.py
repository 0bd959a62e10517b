"""What the community functions return: papers with their votes, lists, comments, libraries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from papersift.service.models import PaperOut

Window = Literal["day", "week", "month", "all"]
ListSort = Literal["trending", "votes", "newest", "code"]


class TrendingWhy(BaseModel):
    """Every term of the trending formula for one paper (see papersift.rank.trending)."""

    score: float
    points: float
    votes: int
    saves: int
    has_code: bool
    imported_votes: int = Field(0, description="upvotes brought from Hugging Face daily papers")
    age_hours: float
    formula: str = Field(description="the computation written out, e.g. '3 votes = 3 points; ...'")


class Card(BaseModel):
    """A paper as lists show it: with its counts and, for a signed-in viewer, their state."""

    paper: PaperOut
    votes: int = 0
    saves: int = 0
    comments: int = 0
    voted: bool | None = Field(None, description="null for anonymous viewers")
    saved: bool | None = Field(None, description="null for anonymous viewers")
    trending: TrendingWhy | None = None
    day: date | None = Field(None, description="the daily list the paper is on, if any")
    submitter: str | None = None
    source: str | None = Field(None, description="'user' or 'auto:<feed>' for daily entries")


class PaperListOut(BaseModel):
    title: str
    sort: ListSort
    window: Window | None = None
    start: date | None = None
    end: date | None = None
    page: int
    page_size: int
    total: int
    cards: list[Card]


class VoteOut(BaseModel):
    paper_id: str
    votes: int
    voted: bool


class CommentOut(BaseModel):
    id: int
    paper_id: str
    author: str | None = Field(None, description="null once deleted or removed")
    parent_id: int | None = None
    body: str | None = Field(None, description="markdown source; null once deleted or removed")
    body_html: str = Field(description="rendered, sanitised HTML")
    created_at: datetime
    edited_at: datetime | None = None
    deleted: bool = False
    removed: bool = False
    replies: list[CommentOut] = Field(default_factory=list)
