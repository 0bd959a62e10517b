"""The SQL schema, one module per concern; importing this package registers every table."""

from papersift.store.schema.accounts import ApiToken, User, WebSession
from papersift.store.schema.base import Base, utcnow
from papersift.store.schema.community import (
    Comment,
    DailyEntry,
    LibraryEntry,
    SavedSearch,
    Tag,
    TagItem,
    Vote,
)
from papersift.store.schema.mail import DigestDelivery, Subscription
from papersift.store.schema.papers import Embedding, IngestRun, Paper

__all__ = [
    "ApiToken",
    "Base",
    "Comment",
    "DailyEntry",
    "DigestDelivery",
    "Embedding",
    "IngestRun",
    "LibraryEntry",
    "Paper",
    "SavedSearch",
    "Subscription",
    "Tag",
    "TagItem",
    "User",
    "Vote",
    "WebSession",
    "utcnow",
]
