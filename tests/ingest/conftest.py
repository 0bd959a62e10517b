"""Helpers shared by the network-source tests: replayed HTTP answers and item sorting.

``tests/ingest`` is a package (it has an ``__init__.py``) so that pytest imports this file as
``ingest.conftest``; outside a package it would take the module name ``conftest`` from
``tests/conftest.py``, which other tests import with ``from conftest import ...``. Test modules
here import these helpers with ``from .conftest import ...``.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from papersift.ingest.records import PaperRecord, ParseProblem


class Replay:
    """Answers requests with queued responses (or raises queued exceptions), recording each."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected extra request {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))

    def params(self, index: int) -> dict[str, str]:
        return dict(self.requests[index].url.params)


def records(items: list[PaperRecord | ParseProblem]) -> list[PaperRecord]:
    return [i for i in items if isinstance(i, PaperRecord)]


def problems(items: list[PaperRecord | ParseProblem]) -> list[ParseProblem]:
    return [i for i in items if isinstance(i, ParseProblem)]


def no_sleep(_: float) -> None:
    return None


def assert_external_entity_inert(items: list[PaperRecord | ParseProblem]) -> None:
    """The ``external_entity.xml`` fixture parsed: its file and URL entities stay unexpanded."""
    (paper,) = records(items)
    assert paper.title == "Entity test"
    assert "root:" not in paper.title + paper.abstract


def assert_billion_laughs_inert(
    parse: Callable[[], list[PaperRecord | ParseProblem]], error: type[Exception], message: str
) -> None:
    """``parse()`` of the ``billion_laughs.xml`` fixture either fails cleanly or stays small."""
    try:
        items = parse()
    except error as exc:  # libxml2 refuses the amplification outright
        assert message in str(exc)
    else:
        assert all(len(r.abstract) < 100 for r in records(items))
