"""What goes into a digest: sections of papers, chosen once per run where they can be shared.

Trending and the daily list are the same for every subscriber of a period, so they are computed
once per (frequency, period) and each subscriber only filters out what was already mailed to
them. Saved searches and recommendations are per user; a saved query that several users follow
is searched once per run.

"New" means not in any digest already sent to this subscriber (the ``paper_ids`` of their
delivery log, :data:`HISTORY_DAYS` back). Saved searches also only take papers published since
the last digest (:data:`SEARCH_GRACE` earlier, because arXiv announces papers a day or more after
their submission date); recommendations are unseen papers from the whole catalogue.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import quote, urlencode

from papersift.mail.periods import Period
from papersift.service.accounts import Principal
from papersift.service.catalog import Catalog
from papersift.service.community_models import Card, Window
from papersift.store.papers import papers_by_num

log = logging.getLogger(__name__)

CONTENT_KINDS = ("trending", "daily", "searches", "recommendations")
CONTENT_TITLES = {
    "trending": "Trending papers",
    "daily": "The daily list",
    "searches": "New papers for your saved searches",
    "recommendations": "Recommendations from the papers you saved (and your tags)",
}
SHARED_DEPTH = 40  # candidates kept per shared section, so filtering leaves enough
SECTION_ITEMS = 8  # papers shown per section
SEARCH_DEPTH = 25
RECOMMEND_K = 25
MAX_TAG_SECTIONS = 3
EXCERPT_CHARS = 280
HISTORY_DAYS = 45
SEARCH_GRACE = timedelta(days=3)


@dataclass(frozen=True)
class Item:
    """One paper line: everything a template needs, already made absolute and short."""

    id: str
    title: str
    url: str
    authors: str
    excerpt: str
    excerpt_wrapped: str  # for the text part, indented continuation lines
    published: date | None
    votes: int
    code_urls: tuple[str, ...]
    because: str | None = None


@dataclass(frozen=True)
class Section:
    key: str  # "trending", "daily", "search:<slug>", "recommendations", "tag:<slug>"
    title: str
    url: str | None
    items: tuple[Item, ...]

    @property
    def signature(self) -> tuple[object, ...]:
        return (self.key, self.title, self.url, tuple((i.id, i.because) for i in self.items))


@dataclass(frozen=True)
class Digest:
    period: Period
    sections: tuple[Section, ...]

    @property
    def paper_ids(self) -> list[str]:
        return list(dict.fromkeys(i.id for sec in self.sections for i in sec.items))

    @property
    def count(self) -> int:
        return len(self.paper_ids)

    @property
    def signature(self) -> tuple[object, ...]:
        """Equal for two digests that render the same (everything but the personal links)."""
        return (
            self.period.key,
            tuple(s.signature for s in self.sections),
        )


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip(" ,.;:") + "…"


def wrap(text: str, width: int = 72, indent: str = "   ") -> str:
    """Greedy word wrap for the text part (textwrap is ten times slower, and this runs for
    every paper of every distinct section)."""
    lines: list[str] = []
    line: list[str] = []
    used = 0
    for word in text.split():
        if line and used + 1 + len(word) > width:
            lines.append(" ".join(line))
            line, used = [], 0
        used += len(word) + (1 if line else 0)
        line.append(word)
    if line:
        lines.append(" ".join(line))
    return ("\n" + indent).join(lines)


def _authors(names: Sequence[str]) -> str:
    if len(names) > 3:
        return ", ".join(names[:3]) + " et al."
    return ", ".join(names)


class Links:
    """Absolute URLs from ``settings.base_url``: mail is read far away from the site."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")

    def paper(self, paper_id: str) -> str:
        return f"{self.base}/paper/{quote(paper_id, safe=':/')}"

    def page(self, path: str, **params: str) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.base}{path}{query}"


def item_of(card: Card, links: Links, because: str | None = None) -> Item:
    p = card.paper
    short = excerpt(p.abstract)
    return Item(
        id=p.id,
        title=" ".join(p.title.split()),
        url=links.paper(p.id),
        authors=_authors(p.authors),
        excerpt=short,
        excerpt_wrapped=wrap(short),
        published=p.published,
        votes=card.votes,
        code_urls=tuple(p.code_urls[:3]),
        because=because,
    )


# -- shared sections ----------------------------------------------------------------------------
def shared_sections(catalog: Catalog, period: Period, links: Links) -> dict[str, Section]:
    """Trending and the daily list of the days ``period`` covers (once per run and period)."""
    from papersift.service import community

    first, last = period.covers
    window: Window = "day" if period.frequency == "daily" else "week"
    hot = community.trending(catalog, window=window, now=period.as_of, page_size=SHARED_DEPTH)
    listed = community.daily(catalog, first, last, sort="votes", page_size=SHARED_DEPTH)
    if first == last:
        list_url = links.page(f"/daily/{first.isoformat()}")
    else:
        year, week, _ = first.isocalendar()
        list_url = links.page("/daily", week=f"{year}-W{week:02d}")
    return {
        "trending": Section(
            "trending",
            "Trending" if window == "day" else "Trending this week",
            links.page("/trending", window=window),
            tuple(item_of(c, links) for c in hot.cards),
        ),
        "daily": Section(
            "daily",
            f"On the daily list of {first:%d %B}"
            if first == last
            else f"On the daily lists, {first:%d %b} to {last:%d %b}",
            list_url,
            tuple(item_of(c, links) for c in listed.cards),
        ),
    }


# -- per-user sections --------------------------------------------------------------------------
@dataclass
class UserSources:
    """Per-run caches for the sections that depend on a user."""

    catalog: Catalog
    links: Links
    _searches: dict[str, tuple[Item, ...]] = field(default_factory=dict)
    _recs: dict[tuple[int, str | None], tuple[Item, ...]] = field(default_factory=dict)
    searches_run: int = 0
    recommendations_run: int = 0

    def prefetch(self, queries: Iterable[str]) -> None:
        """Run the saved queries not yet searched in this run, with one card lookup for all.

        The same query language and index call as ``searching.search(mode="keyword",
        sort="date")``, without what a digest does not show (snippets, facets, explanations):
        at thousands of saved searches per run those cost more than the search itself.
        """
        from papersift.index.query import QueryError, parse_query
        from papersift.service import community

        todo = [q for q in dict.fromkeys(queries) if q not in self._searches]
        if not todo:
            return
        found: dict[str, list[int]] = {}
        for query in todo:
            self.searches_run += 1
            try:
                parsed = parse_query(query)
                hits, _ = self.catalog.keyword.search(
                    parsed.text, parsed.filters, limit=SEARCH_DEPTH, sort="date"
                )
            except (QueryError, ValueError) as exc:
                log.warning("saved search %r failed: %s", query, exc)
                hits = []
            found[query] = [n for n, _ in hits]
        nums = list(dict.fromkeys(n for ns in found.values() for n in ns))
        with self.catalog.store.session() as s:
            papers = papers_by_num(s, nums)
            found_cards = community.cards(s, self.catalog, nums, None, papers=papers)
        by_id = {c.paper.id: item_of(c, self.links) for c in found_cards}
        items = {num: by_id[p.id] for num, p in papers.items() if p.id in by_id}
        for query, ns in found.items():
            self._searches[query] = tuple(items[n] for n in ns if n in items)

    def search(self, query: str) -> tuple[Item, ...]:
        """The newest papers matching a saved query (see :meth:`prefetch`), cached per run."""
        if query not in self._searches:
            self.prefetch([query])
        return self._searches[query]

    def recommendations(self, who: Principal, tag: str | None) -> tuple[Item, ...]:
        key = (who.id, tag)
        cached = self._recs.get(key)
        if cached is not None:
            return cached
        from papersift.service import recommending
        from papersift.service.searching import NotFound

        self.recommendations_run += 1
        try:
            out = recommending.recommend(self.catalog, who, tag=tag, k=RECOMMEND_K)
        except NotFound:  # the tag was deleted since it was chosen
            items: tuple[Item, ...] = ()
        else:
            items = tuple(
                item_of(
                    r.card,
                    self.links,
                    because="like " + "; ".join(b.title for b in r.because[:1])
                    if r.because
                    else None,
                )
                for r in out.items
            )
        self._recs[key] = items
        return items


# -- one subscriber -----------------------------------------------------------------------------
def _fresh(items: Iterable[Item], seen: set[str], since: date | None = None) -> tuple[Item, ...]:
    out = []
    for item in items:
        if item.id in seen:
            continue
        if since is not None and (item.published is None or item.published < since):
            continue
        out.append(item)
        if len(out) == SECTION_ITEMS:
            break
    return tuple(out)


@dataclass(frozen=True)
class Subscriber:
    id: int
    email: str
    content: tuple[str, ...]
    tags: tuple[str, ...] = ()
    user: Principal | None = None
    searches: tuple[tuple[str, str, str], ...] = ()  # (slug, name, query)


def compose(
    sub: Subscriber,
    period: Period,
    shared: dict[str, Section],
    sources: UserSources | None,
    sent_ids: set[str],
    last_sent_at: datetime | None,
) -> Digest:
    """The digest ``sub`` gets for ``period``: only papers not mailed to them before."""
    seen = set(sent_ids)  # a paper shows once per digest, in its first section
    sections: list[Section] = []

    def add(sec: Section, items: tuple[Item, ...]) -> None:
        if items:
            sections.append(Section(sec.key, sec.title, sec.url, items))
            seen.update(i.id for i in items)

    for kind in ("trending", "daily"):
        if kind in sub.content and kind in shared:
            add(shared[kind], _fresh(shared[kind].items, seen))
    if sources is not None and sub.user is not None:
        if "searches" in sub.content and sub.searches:
            start = period.covers[0]
            if last_sent_at is not None:
                start = min(start, last_sent_at.date())
            since = start - SEARCH_GRACE
            for slug, name, query in sub.searches:
                url = sources.links.page("/", q=query, sort="date", mode="keyword")
                sec = Section(f"search:{slug}", f"Saved search: {name}", url, ())
                add(sec, _fresh(sources.search(query), seen, since))
        if "recommendations" in sub.content:
            for tag in sub.tags[:MAX_TAG_SECTIONS] or (None,):
                title = f"Recommended for your tag {tag}" if tag else "Recommended for you"
                key = f"tag:{tag}" if tag else "recommendations"
                url = sources.links.page("/recommendations", **({"tag": tag} if tag else {}))
                add(
                    Section(key, title, url, ()),
                    _fresh(sources.recommendations(sub.user, tag), seen),
                )
    return Digest(period, tuple(sections))
