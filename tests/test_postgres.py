"""The production database path: the same migrations, ingest, dedup and community rules on a
real PostgreSQL server."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import SMALL
from sqlalchemy import text

from papersift.records import PaperRecord
from papersift.service import accounts, community, library, searching
from papersift.service.accounts import AccountError
from papersift.service.catalog import Catalog
from papersift.service.ingesting import ingest
from papersift.store.db import HEAD_REVISION, current_revision


def test_migrations_reach_head_on_postgres(pg_catalog: Catalog) -> None:
    assert pg_catalog.store.engine.dialect.name == "postgresql"
    assert current_revision(pg_catalog.store.engine) == HEAD_REVISION
    with pg_catalog.store.engine.connect() as conn:
        tables = set(
            conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
        )
    assert {"papers", "votes", "tags", "subscriptions", "digest_deliveries"} <= tables


def test_ingest_dedup_and_versions_on_postgres(pg_catalog: Catalog) -> None:
    ingest(pg_catalog, list(SMALL), source="test", location="fixture")
    newer = PaperRecord(
        title="Attention Is All You Need (v7)", arxiv_id="1706.03762", version=7,
        abstract="updated", published=date(2017, 6, 12), source="test",
    )  # fmt: skip
    report = ingest(pg_catalog, [*SMALL, newer], source="test", location="again")
    assert report.inserted == 0 and report.updated == 1
    assert searching.get(pg_catalog, "1706.03762").version == 7
    # the index followed the update: v7's abstract no longer mentions warmup
    out = searching.search(pg_catalog, "warmup", mode="keyword")
    assert {h.paper.arxiv_id for h in out.hits} == {"1908.03265"}
    assert searching.search(pg_catalog, "updated", mode="keyword").hits[0].paper.version == 7


def test_votes_daily_and_tags_race_safely_on_postgres(pg_catalog: Catalog) -> None:
    ingest(pg_catalog, list(SMALL), source="test", location="fixture")
    alice = accounts.sign_up(pg_catalog, "alice", "alice@example.org", "a long password")
    bob = accounts.sign_up(pg_catalog, "bob", "bob@example.org", "a long password")
    with pytest.raises(AccountError):
        accounts.sign_up(pg_catalog, "ALICE", "x@example.org", "a long password")
    for _ in range(2):  # ON CONFLICT DO NOTHING: the second vote and submission are no-ops
        community.vote(pg_catalog, alice, "2002.05709")
        community.submit(pg_catalog, alice, "2002.05709")
    community.vote(pg_catalog, bob, "2002.05709")
    listing = community.daily(pg_catalog, community.today())
    assert listing.total == 1 and listing.cards[0].votes == 2
    library.tag_paper(pg_catalog, alice, "Reading", "1706.03762")
    library.tag_paper(pg_catalog, alice, "Reading", "1706.03762")
    assert library.tags(pg_catalog, alice)[0].papers == 1
    assert library.library(pg_catalog, bob).total == 0
