"""The community layer through its service functions: accounts, votes, daily lists, trending,
comments, libraries and recommendations, with two users who must not reach each other's data."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from papersift.service import accounts, comments, community, library, recommending
from papersift.service.accounts import AccountError, Forbidden, Principal
from papersift.service.catalog import Catalog
from papersift.service.searching import NotFound


def users(cat: Catalog) -> tuple[Principal, Principal]:
    alice = accounts.sign_up(cat, "alice", "Alice@Example.org", "correct horse battery")
    bob = accounts.sign_up(cat, "bob", "bob@example.org", "another long password")
    return alice, bob


def test_first_account_is_admin_and_passwords_are_hashed(catalog: Catalog) -> None:
    alice, bob = users(catalog)
    assert alice.is_admin and not bob.is_admin
    from papersift.store.accounts import user_by_username

    with catalog.store.session() as s:
        stored = user_by_username(s, "alice")
        assert stored is not None and stored.password_hash is not None
        assert "correct horse" not in stored.password_hash
        assert stored.password_hash.startswith("$argon2")
    assert accounts.authenticate(catalog, "alice@example.org", "correct horse battery") == alice
    assert accounts.authenticate(catalog, "ALICE", "correct horse battery") == alice
    with pytest.raises(AccountError, match="wrong username/email or password"):
        accounts.authenticate(catalog, "alice", "wrong password!")
    with pytest.raises(AccountError, match="wrong username/email or password"):
        accounts.authenticate(catalog, "nobody", "wrong password!")
    with pytest.raises(AccountError, match="taken"):
        accounts.sign_up(catalog, "Alice", "other@example.org", "long enough pw")
    with pytest.raises(AccountError):
        accounts.sign_up(catalog, "x y", "xy@example.org", "long enough pw")


def test_sessions_and_tokens_identify_their_user_until_ended(catalog: Catalog) -> None:
    alice, bob = users(catalog)
    key = accounts.start_session(catalog, alice)
    assert accounts.session_user(catalog, key) == alice
    later = datetime.now() + timedelta(days=catalog.settings.session_days + 1)
    assert accounts.session_user(catalog, key, now=later) is None
    accounts.end_session(catalog, key)
    assert accounts.session_user(catalog, key) is None

    token = accounts.create_token(catalog, alice, "laptop")
    assert token.token.startswith("ps_")
    assert accounts.token_user(catalog, token.token) == alice
    with pytest.raises(LookupError):
        accounts.revoke_token(catalog, bob, token.id)  # not bob's token
    assert accounts.token_user(catalog, token.token) == alice
    accounts.revoke_token(catalog, alice, token.id)
    assert accounts.token_user(catalog, token.token) is None


def test_one_vote_per_user_and_undo(small_catalog: Catalog) -> None:
    alice, bob = users(small_catalog)
    assert community.vote(small_catalog, alice, "1706.03762").votes == 1
    assert community.vote(small_catalog, alice, "1706.03762").votes == 1  # twice: still one
    assert community.vote(small_catalog, bob, "arxiv:1706.03762").votes == 2
    assert community.vote(small_catalog, alice, "1706.03762", up=False).votes == 1
    card = community.paper_card(small_catalog, "1706.03762", viewer=bob)
    assert card.votes == 1 and card.voted is True
    assert community.paper_card(small_catalog, "1706.03762", viewer=alice).voted is False
    with pytest.raises(NotFound):
        community.vote(small_catalog, alice, "9999.99999")


def test_daily_list_takes_a_paper_once_per_day_and_sorts_by_votes(small_catalog: Catalog) -> None:
    alice, bob = users(small_catalog)
    today = community.today()
    assert community.submit(small_catalog, alice, "1706.03762")[2] is True
    assert community.submit(small_catalog, bob, "1706.03762")[2] is False  # already on it
    community.submit(small_catalog, bob, "2002.05709")
    community.vote(small_catalog, alice, "2002.05709")
    listing = community.daily(small_catalog, today)
    assert [c.paper.arxiv_id for c in listing.cards] == ["2002.05709", "1706.03762"]
    assert listing.cards[1].submitter == "alice"
    assert community.daily(small_catalog, today, submitter="bob").total == 1
    assert community.daily(small_catalog, today - timedelta(days=1)).total == 0
    with pytest.raises(Forbidden):
        community.submit(small_catalog, bob, "1511.06452", day=today - timedelta(days=3))
    # an admin may backfill a day
    community.submit(small_catalog, alice, "1511.06452", day=today - timedelta(days=3))
    week = community.daily(small_catalog, today - timedelta(days=6), today)
    assert week.total == 3


def test_auto_feed_adds_new_papers_in_chosen_categories(small_catalog: Catalog) -> None:
    small_catalog.settings.daily_auto_categories = ["cs"]
    listing = community.daily(small_catalog, date(2020, 2, 13))
    assert [(c.paper.arxiv_id, c.source) for c in listing.cards] == [
        ("2002.05709", "auto:categories")
    ]
    small_catalog.settings.daily_auto_categories = []
    assert community.daily(small_catalog, date(2020, 2, 13)).total == 0


def test_trending_follows_votes_and_decays_with_age(small_catalog: Catalog) -> None:
    alice, bob = users(small_catalog)
    for pid in ("1706.03762", "2002.05709"):
        community.submit(small_catalog, alice, pid)
    community.vote(small_catalog, alice, "2002.05709")
    top = community.trending(small_catalog, window="day")
    assert top.cards[0].paper.arxiv_id == "2002.05709"
    for who in (alice, bob):
        community.vote(small_catalog, who, "1706.03762")
    top = community.trending(small_catalog, window="day")
    assert top.cards[0].paper.arxiv_id == "1706.03762"
    why = top.cards[0].trending
    assert why is not None and why.votes == 2
    assert "2 votes" in why.formula and "^1.5" in why.formula
    # a day later both have decayed
    later = datetime.now() + timedelta(days=1)
    assert community.trending(small_catalog, window="week", now=later).cards[0].trending.score < (  # type: ignore[union-attr]
        why.score
    )
    assert community.trending(small_catalog, window="day", has_code=True).cards[0].paper.code_urls


def test_comments_render_safe_markdown_and_only_authors_edit(small_catalog: Catalog) -> None:
    alice, bob = users(small_catalog)
    c = comments.add(small_catalog, bob, "1706.03762", "**nice** <script>x()</script>")
    assert "<strong>nice</strong>" in c.body_html and "<script>" not in c.body_html
    reply = comments.add(small_catalog, alice, "1706.03762", "thanks", parent_id=c.id)
    with pytest.raises(Forbidden):
        comments.edit(small_catalog, alice, c.id, "hijacked")
    comments.edit(small_catalog, bob, c.id, "edited [link](javascript:alert(1))")
    comments.delete(small_catalog, bob, c.id)
    tree = comments.thread(small_catalog, "1706.03762")
    assert len(tree) == 1 and tree[0].deleted and tree[0].body is None
    assert tree[0].replies[0].id == reply.id
    with pytest.raises(Forbidden):
        comments.remove(small_catalog, bob, reply.id)
    comments.remove(small_catalog, alice, reply.id)  # alice is the admin
    assert comments.thread(small_catalog, "1706.03762")[0].replies[0].removed


def test_library_tags_are_private_until_published(small_catalog: Catalog) -> None:
    alice, bob = users(small_catalog)
    library.tag_paper(small_catalog, alice, "Warmup", "1706.03762")
    library.tag_paper(small_catalog, alice, "Warmup", "1908.03265")
    library.set_note(small_catalog, alice, "1706.03762", "read section 5")
    library.mark_read(small_catalog, alice, "1706.03762")
    mine = library.library(small_catalog, alice)
    assert mine.total == 2 and {i.card.saved for i in mine.items} == {True}
    assert library.library(small_catalog, alice, unread=True).total == 1
    assert library.tags(small_catalog, alice)[0].papers == 2
    # bob sees neither the private tag nor, later, alice's note
    with pytest.raises(NotFound):
        library.view_tag(small_catalog, bob, "alice", "warmup")
    with pytest.raises(NotFound):
        library.view_tag(small_catalog, None, "alice", "warmup")
    with pytest.raises(NotFound):
        library.untag_paper(small_catalog, bob, "warmup", "1706.03762")
    assert library.library(small_catalog, bob).total == 0
    library.update_tag(small_catalog, alice, "warmup", is_public=True)
    public = library.view_tag(small_catalog, bob, "alice", "warmup")
    assert public.total == 2 and all(i.note is None for i in public.items)
    own = library.view_tag(small_catalog, alice, "alice", "warmup")
    assert "read section 5" in {i.note for i in own.items}
    library.unsave(small_catalog, alice, "1706.03762")
    assert library.library(small_catalog, alice, tag="warmup").total == 1


def test_recommendations_follow_what_a_user_saved(demo_catalog: Catalog) -> None:
    alice = accounts.sign_up(demo_catalog, "rec_alice", "rec_alice@example.org", "long password")
    hits = demo_catalog.keyword.search('"metric learning"', limit=8)[0]
    from papersift.store.papers import papers_by_num

    with demo_catalog.store.session() as s:
        ids = [p.id for p in papers_by_num(s, [n for n, _ in hits]).values()]
    for pid in ids[:6]:
        library.save(demo_catalog, alice, pid, ["metric"])
    recs = recommending.recommend(demo_catalog, alice, k=10)
    assert recs.seeds == 6 and len(recs.items) == 10
    assert not set(ids[:6]) & {r.card.paper.id for r in recs.items}  # unseen only
    text = " ".join((r.card.paper.title + " " + r.card.paper.abstract).lower() for r in recs.items)
    assert text.count("metric") >= 5 or text.count("embedding") >= 5
    assert recs.items[0].because and recs.items[0].because[0].id in ids[:6]
    # the keyword leg's profile explains a recommendation by the words it shares with the saves
    assert sum(any(w.startswith("metric") for w in r.shared_terms) for r in recs.items) >= 3
    embeddings_only = demo_catalog.settings.model_copy(update={"recommend_terms": 0})
    demo_catalog.settings, saved_settings = embeddings_only, demo_catalog.settings
    try:
        dense = recommending.recommend(demo_catalog, alice, k=10)
    finally:
        demo_catalog.settings = saved_settings
    assert len(dense.items) == 10 and not any(r.shared_terms for r in dense.items)
    # filters apply on top
    only_cv = recommending.recommend(demo_catalog, alice, k=5, filter="cat:cs.CV -triplet")
    for r in only_cv.items:
        assert "cs.CV" in r.card.paper.categories
        assert "triplet" not in (r.card.paper.title + r.card.paper.abstract).lower()
    bob = accounts.sign_up(demo_catalog, "rec_bob", "rec_bob@example.org", "long password")
    assert recommending.recommend(demo_catalog, bob).notice
    with pytest.raises(NotFound):
        recommending.recommend(demo_catalog, bob, tag="metric")  # alice's tag, not bob's


def test_importing_hf_daily_papers_imports_their_daily_lists_and_upvotes(
    catalog: Catalog,
) -> None:
    from conftest import shared_path

    from papersift.ingest.sources import parse_file
    from papersift.service.ingesting import ingest

    path = shared_path("data", "hf-daily", "2025-10-01.json")
    items = [r for r in parse_file("hf-daily", path) if not hasattr(r, "message")]
    ingest(catalog, items, source="hf-daily", location=str(path), embed=False)
    listing = community.daily(catalog, date(2025, 10, 1), sort="votes")
    assert listing.total == len(items) > 5
    assert {c.source for c in listing.cards} == {"import:hf-daily"}
    top = listing.cards[0]
    assert top.trending is not None and top.trending.imported_votes > 0
    assert f"{top.trending.imported_votes} imported upvotes" in top.trending.formula
    counts = [c.trending.imported_votes for c in listing.cards if c.trending]
    assert counts == sorted(counts, reverse=True)
    # re-importing lists nothing twice
    ingest(catalog, items, source="hf-daily", location=str(path), embed=False)
    assert community.daily(catalog, date(2025, 10, 1)).total == listing.total
