"""arXiv OAI-PMH source (``arxiv-oai``): bulk metadata harvest with resumable paging.

arXiv exposes every article through OAI-PMH 2.0 (https://info.arxiv.org/help/oa/index.html):
``ListRecords`` pages of about a thousand records chained by ``resumptionToken``. This module
holds the protocol side: the ListRecords envelope, record headers, OAI errors and the paging loop.
What sits inside each record's ``<metadata>`` (the ``arXiv`` and ``arXivRaw`` formats) is read
by :mod:`papersift.ingest.arxiv_metadata`. arXiv implements flow control with ``HTTP 503`` +
``Retry-After`` (OAI-PMH 3.5), which :func:`harvest` obeys a bounded number of times.

Deleted records (``<header status="deleted">``) are skipped: they carry no metadata, and arXiv
only withdraws (never deletes) papers in practice, so there is nothing to store. An OAI
``noRecordsMatch`` error is the protocol's way of saying "empty result" and yields nothing; any
other OAI error raises :class:`OaiError`. Responses are parsed without entity expansion, DTD
loading or network access, because they are untrusted input.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Final

import httpx
from lxml import etree

from papersift.ingest.arxiv_metadata import SOURCE, BadRecord, format_namespace, parse_metadata
from papersift.ingest.http import Pacer, PoliteGetter, RemoteSourceError, RetryPolicy, Sleep
from papersift.ingest.records import PaperRecord, ParseProblem
from papersift.ingest.xml import all_text, parse_untrusted, stripped_texts

DEFAULT_BASE_URL: Final = "https://export.arxiv.org/oai2"
OAI_NS: Final = "http://www.openarchives.org/OAI/2.0/"

Item = PaperRecord | ParseProblem


class OaiHarvestError(RemoteSourceError):
    """A page could not be harvested: network failure after retries, HTTP error, bad XML."""


class OaiError(OaiHarvestError):
    """The repository answered with an OAI-PMH ``<error code="...">`` other than noRecordsMatch."""

    def __init__(self, code: str, message: str, url: str | None = None) -> None:
        super().__init__(f"OAI-PMH error {code}: {message}", url)
        self.code = code
        self.message = message


# --------------------------------------------------------------------------- parsing


def parse_list_records(
    content: bytes, metadata_prefix: str = "arXiv", where_prefix: str = ""
) -> tuple[list[Item], str | None]:
    """Read one ListRecords response: its records (or problems) and the next resumption token.

    The token is None when the list is complete (no token, or the empty token OAI-PMH sends on
    the last page). ``noRecordsMatch`` gives ``([], None)``; other OAI errors raise
    :class:`OaiError`, and content that is not an OAI-PMH document raises
    :class:`OaiHarvestError`.
    """
    namespace = format_namespace(metadata_prefix)
    root = parse_untrusted(content, OaiHarvestError, what="OAI-PMH XML", expected="OAI-PMH XML")
    if root.tag != f"{{{OAI_NS}}}OAI-PMH":
        raise OaiHarvestError(f"not an OAI-PMH response (root element {root.tag!r})")
    if _check_oai_errors(root):
        return [], None
    list_records = root.find(f"{{{OAI_NS}}}ListRecords")
    if list_records is None:
        raise OaiHarvestError("OAI-PMH response has neither ListRecords nor an error")
    items: list[Item] = []
    for index, record in enumerate(list_records.iterfind(f"{{{OAI_NS}}}record"), start=1):
        item = _parse_record(record, namespace, metadata_prefix, where_prefix, index)
        if item is not None:
            items.append(item)
    token = list_records.findtext(f"{{{OAI_NS}}}resumptionToken")
    return items, (token.strip() or None) if token is not None else None


def _check_oai_errors(root: etree._Element) -> bool:
    """True for ``noRecordsMatch`` (an empty result); raises OaiError for any other error."""
    errors = root.findall(f"{{{OAI_NS}}}error")
    for error in errors:
        code = error.get("code") or "unknown"
        if code != "noRecordsMatch":
            raise OaiError(code, all_text(error).strip())
    return bool(errors)


def _parse_record(
    record: etree._Element, namespace: str, metadata_prefix: str, where_prefix: str, index: int
) -> Item | None:
    """One <record> to a PaperRecord, a ParseProblem, or None for a deleted record."""
    header = record.find(f"{{{OAI_NS}}}header")
    identifier = ""
    if header is not None:
        if header.get("status") == "deleted":
            return None
        identifier = (header.findtext(f"{{{OAI_NS}}}identifier") or "").strip()
    where = " ".join(part for part in (where_prefix, f"record {index}") if part)
    if identifier:
        where += f" ({identifier})"
    metadata = record.find(f"{{{OAI_NS}}}metadata/{{{namespace}}}{metadata_prefix}")
    if metadata is None:
        return ParseProblem(SOURCE, where, f"record has no {metadata_prefix} metadata")
    try:
        parsed = parse_metadata(metadata, namespace, metadata_prefix)
    except BadRecord as exc:
        return ParseProblem(SOURCE, where, str(exc))
    if header is not None:
        parsed.extra["oai_datestamp"] = (header.findtext(f"{{{OAI_NS}}}datestamp") or "").strip()
        parsed.extra["oai_sets"] = _set_specs(header)
    return parsed


def _set_specs(header: etree._Element) -> list[str]:
    return stripped_texts(header.iterfind(f"{{{OAI_NS}}}setSpec"))


# --------------------------------------------------------------------------- harvesting


def harvest(
    *,
    client: httpx.Client,
    base_url: str = DEFAULT_BASE_URL,
    metadata_prefix: str = "arXiv",
    set_spec: str | None = None,
    date_from: date | None = None,
    date_until: date | None = None,
    resumption_token: str | None = None,
    sleep: Sleep = time.sleep,
    on_token: Callable[[str], None] | None = None,
    delay_s: float = 3.0,
    max_retries: int = 5,
    backoff_s: float = 10.0,
    max_wait_s: float = 600.0,
) -> Iterator[Item]:
    """Harvest ``ListRecords`` page after page, following resumption tokens to the end.

    Pass ``resumption_token`` (with the same ``metadata_prefix``) to continue a harvest that
    stopped; the other selective-harvest arguments are then ignored, as OAI-PMH requires.
    ``on_token`` receives each new token once every record of the page that carried it has been
    handed out, so persisting it never skips records: resuming repeats at most one page.
    ``date_from``/``date_until`` filter on the OAI datestamp (last metadata change), not on the
    submission date. 503/429/5xx and network failures are retried ``max_retries`` times, waiting
    what ``Retry-After`` asks (capped at ``max_wait_s``) or an exponential backoff.
    """
    format_namespace(metadata_prefix)  # fail now, not at the first next()
    if resumption_token:
        params = {"verb": "ListRecords", "resumptionToken": resumption_token}
    else:
        params = _first_params(metadata_prefix, set_spec, date_from, date_until)
    getter = PoliteGetter(
        client,
        service="OAI-PMH",
        pacer=Pacer(delay_s, sleep),
        policy=RetryPolicy(
            max_retries,
            backoff_s,
            max_backoff_s=max_wait_s,
            retry_after_cap_s=max_wait_s,
            retry_after_replaces_backoff=True,  # flow control: wait what Retry-After asks
        ),
        error=OaiHarvestError,
    )
    return _harvest_pages(getter, base_url, params, metadata_prefix, on_token)


def _first_params(
    metadata_prefix: str, set_spec: str | None, date_from: date | None, date_until: date | None
) -> dict[str, str]:
    params = {"verb": "ListRecords", "metadataPrefix": metadata_prefix}
    if set_spec:
        params["set"] = set_spec
    if date_from is not None:
        params["from"] = date_from.isoformat()
    if date_until is not None:
        params["until"] = date_until.isoformat()
    return params


def _harvest_pages(
    getter: PoliteGetter,
    base_url: str,
    params: dict[str, str],
    metadata_prefix: str,
    on_token: Callable[[str], None] | None,
) -> Iterator[Item]:
    page = 1
    seen_tokens: set[str] = set()
    while True:
        url = str(httpx.URL(base_url, params=params))
        content = getter.get(base_url, params)
        try:
            items, token = parse_list_records(content, metadata_prefix, where_prefix=f"page {page}")
        except OaiError as exc:
            raise OaiError(exc.code, exc.message, url) from exc
        except OaiHarvestError as exc:
            raise OaiHarvestError(f"page {page}: {exc.detail}", url) from exc
        yield from items
        if token is None:
            return
        if token in seen_tokens:
            raise OaiHarvestError(f"page {page}: resumption token {token!r} repeated", url)
        seen_tokens.add(token)
        if on_token is not None:
            on_token(token)
        params = {"verb": "ListRecords", "resumptionToken": token}
        page += 1
