"""`papersift` commands for the community layer: users, votes, daily lists, trending, tags,
recommendations and BibTeX export.

The CLI runs on the server's own data directory, so whoever runs it already holds the database:
it acts as the user named by ``--user`` without a password, as an operator's tool should.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, cast

import click

from papersift.cli import fail, main, open_catalog

if TYPE_CHECKING:
    from papersift.service.accounts import Principal
    from papersift.service.catalog import Catalog
    from papersift.service.community_models import ListSort, Window

LIST_SORTS = ["trending", "votes", "newest", "code"]


def _user(catalog: Catalog, username: str) -> Principal:
    from papersift.service.accounts import Principal
    from papersift.store.accounts import user_by_username

    with catalog.store.session() as s:
        user = user_by_username(s, username)
        if user is None:
            fail(f"no user {username!r} (create one with `papersift user add`)")
        assert user is not None
        return Principal.of(user)


def _print_cards(cards: list[Any], as_json: bool, payload: Any) -> None:
    if as_json:
        click.echo(payload.model_dump_json(indent=1))
        return
    for i, c in enumerate(cards, 1):
        code = "  [code]" if c.paper.code_urls else ""
        click.echo(f"{i:3d}. {c.paper.title}  ({c.votes} votes){code}")
        click.echo(f"     {c.paper.id}")
        if c.trending is not None:
            click.echo(f"     {c.trending.formula}")


def _errors(fn: Any) -> Any:
    """Turn the service layer's errors into one line and exit code 2."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from papersift.service.accounts import AccountError, Forbidden
        from papersift.service.searching import NotFound

        try:
            return fn(*args, **kwargs)
        except (AccountError, Forbidden, NotFound, LookupError, ValueError) as exc:
            fail(str(exc))

    return wrapper


@main.group()
def user() -> None:
    """Create users and manage admins."""


@user.command("add")
@click.argument("username")
@click.argument("email")
@click.option("--admin", is_flag=True, help="make the user an admin")
@click.password_option()
@click.pass_context
@_errors
def user_add(ctx: click.Context, username: str, email: str, admin: bool, password: str) -> None:
    """Create an account (the first account on a server is its admin)."""
    from papersift.service import accounts

    cat = open_catalog(ctx)
    who = accounts.sign_up(cat, username, email, password)
    if admin and not who.is_admin:
        accounts.set_admin(cat, username)
    click.echo(f"created {who.username}{' (admin)' if admin or who.is_admin else ''}")


@user.command("token")
@click.argument("username")
@click.option("--name", default="cli", help="a label for the token")
@click.pass_context
@_errors
def user_token(ctx: click.Context, username: str, name: str) -> None:
    """Create an API token for a user (printed once)."""
    from papersift.service import accounts

    cat = open_catalog(ctx)
    click.echo(accounts.create_token(cat, _user(cat, username), name).token)


@main.command()
@click.argument("paper_id")
@click.option("--user", "username", required=True, help="who votes")
@click.option("--undo", is_flag=True, help="take the vote back")
@click.pass_context
@_errors
def vote(ctx: click.Context, paper_id: str, username: str, undo: bool) -> None:
    """Upvote a paper (once per user)."""
    from papersift.service import community

    cat = open_catalog(ctx)
    out = community.vote(cat, _user(cat, username), paper_id, up=not undo)
    click.echo(f"{out.paper_id}: {out.votes} votes")


@main.command()
@click.option("--date", "day", help="YYYY-MM-DD (default today)")
@click.option("--week", help="ISO week, e.g. 2026-W48")
@click.option("--month", help="YYYY-MM")
@click.option("--submit", "paper_id", help="put this paper on today's list")
@click.option("--user", "username", help="who submits (with --submit)")
@click.option("--sort", type=click.Choice(LIST_SORTS), default="votes")
@click.option("-n", "limit", default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@_errors
def daily(
    ctx: click.Context,
    day: str | None,
    week: str | None,
    month: str | None,
    paper_id: str | None,
    username: str | None,
    sort: str,
    limit: int,
    as_json: bool,
) -> None:
    """Show a day's (week's, month's) papers, or submit one to today's list."""
    from papersift.service import community
    from papersift.service.dates import period_range

    cat = open_catalog(ctx)
    if paper_id:
        if not username:
            fail("--submit needs --user")
        pid, when, added = community.submit(cat, _user(cat, str(username)), paper_id)
        click.echo(f"{pid} {'added to' if added else 'was already on'} the list of {when}")
        return
    start, end = period_range(day, week, month, community.today())
    out = community.daily(cat, start, end, sort=cast("ListSort", sort), page_size=limit)
    click.echo(f"{out.title}: {out.total} papers", err=True)
    _print_cards(out.cards, as_json, out)


@main.command()
@click.option("--window", type=click.Choice(["day", "week", "month", "all"]), default="week")
@click.option(
    "--sort", type=click.Choice(["trending", "votes", "newest", "code"]), default="trending"
)
@click.option("--has-code", is_flag=True)
@click.option("-n", "limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@_errors
def trending(
    ctx: click.Context, window: str, sort: str, has_code: bool, limit: int, as_json: bool
) -> None:
    """Trending papers, each with the computation of its score."""
    from papersift.service import community

    cat = open_catalog(ctx)
    out = community.trending(
        cat,
        window=cast("Window", window),
        sort=cast("ListSort", sort),
        has_code=has_code,
        page_size=limit,
    )
    _print_cards(out.cards, as_json, out)


@main.group()
def tag() -> None:
    """Save papers into tags; list, publish and export them."""


@tag.command("add")
@click.argument("name")
@click.argument("paper_ids", nargs=-1, required=True)
@click.option("--user", "username", required=True)
@click.pass_context
@_errors
def tag_add(ctx: click.Context, name: str, paper_ids: tuple[str, ...], username: str) -> None:
    """Save papers into a tag (created, private, if new)."""
    from papersift.service import library

    cat = open_catalog(ctx)
    who = _user(cat, username)
    for pid in paper_ids:
        item = library.tag_paper(cat, who, name, pid)
        click.echo(f"{item.card.paper.id}: {', '.join(item.tags)}")


@tag.command("remove")
@click.argument("slug")
@click.argument("paper_id")
@click.option("--user", "username", required=True)
@click.pass_context
@_errors
def tag_remove(ctx: click.Context, slug: str, paper_id: str, username: str) -> None:
    """Take a paper out of a tag."""
    from papersift.service import library

    cat = open_catalog(ctx)
    library.untag_paper(cat, _user(cat, username), slug, paper_id)


@tag.command("list")
@click.argument("slug", required=False)
@click.option("--user", "username", required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@_errors
def tag_list(ctx: click.Context, slug: str | None, username: str, as_json: bool) -> None:
    """List a user's tags, or the papers in one tag."""
    from papersift.service import library

    cat = open_catalog(ctx)
    who = _user(cat, username)
    if slug is None:
        tags = library.tags(cat, who)
        if as_json:
            click.echo(json.dumps([t.model_dump(mode="json") for t in tags], indent=1))
        for t in tags:
            click.echo(
                f"{t.slug:30s} {t.papers:5d} papers  {'public' if t.is_public else 'private'}"
            )
        return
    out = library.library(cat, who, tag=slug)
    _print_cards([i.card for i in out.items], as_json, out)


@tag.command("publish")
@click.argument("slug")
@click.option("--user", "username", required=True)
@click.option("--private", is_flag=True, help="make it private again")
@click.pass_context
@_errors
def tag_publish(ctx: click.Context, slug: str, username: str, private: bool) -> None:
    """Make a tag public (its papers, never your notes) at /u/USER/tags/SLUG."""
    from papersift.service import library

    cat = open_catalog(ctx)
    t = library.update_tag(cat, _user(cat, username), slug, is_public=not private)
    click.echo(f"{t.owner}/{t.slug} is {'public' if t.is_public else 'private'}")


@tag.command("bibtex")
@click.argument("slug", required=False)
@click.option("--user", "username", required=True)
@click.pass_context
@_errors
def tag_bibtex(ctx: click.Context, slug: str | None, username: str) -> None:
    """Print a tag (or the whole library) as BibTeX."""
    from papersift.export.bibtex import to_bibtex
    from papersift.service import library

    cat = open_catalog(ctx)
    out = library.library(cat, _user(cat, username), tag=slug)
    sys.stdout.write(to_bibtex(i.card.paper for i in out.items))


@main.command()
@click.option("--user", "username", required=True)
@click.option("--tag", "tag_slug", help="recommend for one tag instead of the whole library")
@click.option("--filter", "flt", default="", help='e.g. "cat:cs.LG -cat:cs.CV -survey"')
@click.option("-n", "limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@_errors
def recommend(
    ctx: click.Context, username: str, tag_slug: str | None, flt: str, limit: int, as_json: bool
) -> None:
    """Unseen papers ranked by a model of what the user saved."""
    from papersift.service import recommending

    cat = open_catalog(ctx)
    out = recommending.recommend(cat, _user(cat, username), tag=tag_slug, filter=flt, k=limit)
    if as_json:
        click.echo(out.model_dump_json(indent=1))
        return
    if out.notice:
        click.echo(out.notice, err=True)
    for i, r in enumerate(out.items, 1):
        click.echo(f"{i:3d}. {r.card.paper.title}  ({r.score:.2f})")
        click.echo(f"     {r.card.paper.id}")
        for b in r.because:
            click.echo(f"     because you saved: {b.title} ({b.similarity:.2f})")
        if r.shared_terms:
            click.echo(f"     shares the words: {', '.join(r.shared_terms)}")
