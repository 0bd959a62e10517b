"""``papersift digest``: send, preview and list email digests (see papersift.mail).

``digest send`` is what cron runs. Like arxiv-sanity-lite's daemons, its exit code says whether
anything happened, so jobs can be chained: 0 when at least one digest was sent (or, with
``--dry-run``, would be), 1 when there was nothing to send, 2 on bad input, 3 when the SMTP
server could not be reached and the run stopped early. Running it again is always safe.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from papersift.service.catalog import Catalog


def _catalog(ctx: click.Context) -> Catalog:
    from papersift import cli  # imported late: cli.py registers this group at its end

    return cli.open_catalog(ctx)


def _date(value: str | None) -> date | None:
    from papersift import cli

    return cli.parse_date_option(value)


def _fail(message: str) -> None:
    from papersift import cli

    cli.fail(message)


@click.group()
def digest() -> None:
    """Email digests: send them (cron-safe), preview one, list subscriptions."""


class _Bar:
    """A tqdm bar over the subscribers due, with the rate."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="digests", unit=" subscribers", file=sys.stderr)
        if total != self.bar.total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@digest.command()
@click.option(
    "--date", "day", help="send the periods containing this day (YYYY-MM-DD; default today, UTC)"
)
@click.option("--dry-run", is_flag=True, help="compose everything, send and record nothing")
@click.option("--quiet", is_flag=True, help="no progress bar")
@click.option("--workers", default=1, show_default=True, help="processes (subscribers split by id)")
@click.pass_context
def send(ctx: click.Context, day: str | None, dry_run: bool, quiet: bool, workers: int) -> None:
    """Send the digests due for today's (or --date's) daily and weekly periods.

    Exit code: 0 sent something, 1 nothing to send, 3 SMTP server unreachable.
    """
    from papersift.mail.sharding import send_digests

    when: date | None = _date(day)
    catalog = _catalog(ctx)
    bar = _Bar(not quiet)
    try:
        report = send_digests(catalog, when, dry_run=dry_run, progress=bar, workers=workers)
    finally:
        bar.close()
        catalog.close()
    click.echo(report.summary())
    for line in report.errors[:5]:
        click.echo(f"  failed: {line}", err=True)
    if report.sent or report.composed:
        rate = (report.composed if dry_run else report.sent) / max(report.seconds, 1e-9)
        click.echo(f"  {rate:.0f} digests/s")
    if report.aborted:
        sys.exit(3)
    sys.exit(0 if (report.composed if dry_run else report.sent) else 1)


@digest.command()
@click.option("--email", required=True, help="the subscriber's address")
@click.option("--date", "day", help="the period containing this day (default today)")
@click.option("--html", is_flag=True, help="print the HTML part instead of the text part")
@click.pass_context
def preview(ctx: click.Context, email: str, day: str | None, html: bool) -> None:
    """Print the digest a subscriber would get (sends and records nothing)."""
    from papersift.mail.preview import PreviewError, preview_digest

    catalog = _catalog(ctx)
    try:
        text_part, html_part = preview_digest(catalog, email, _date(day))
    except PreviewError as exc:
        _fail(str(exc))
    finally:
        catalog.close()
    click.echo(html_part if html else text_part)


@digest.command(name="list")
@click.option("--limit", default=1000, show_default=True)
@click.pass_context
def list_(ctx: click.Context, limit: int) -> None:
    """Subscriptions: address, state, frequency, content, last delivery."""
    from papersift.service.subscriptions import listing

    catalog = _catalog(ctx)
    try:
        rows = listing(catalog, limit)
    finally:
        catalog.close()
    if not rows:
        click.echo("no subscriptions")
        return
    click.echo(f"{'email':36} {'state':12} {'freq':7} {'last':12} {'status':8} content")
    for r in rows:
        last = r.last_period or "-"
        status = r.last_status or "-"
        extra = f" ({r.failures} failed)" if r.failures else ""
        who = f" [{r.username}]" if r.username else ""
        click.echo(
            f"{r.email[:36]:36} {r.state:12} {r.frequency:7} {last:12} {status:8} "
            f"{','.join(r.content)}{who}{extra}"
        )
