"""The Hugging Face Papers API, driven by the official `huggingface_hub` client against a real
`papersift serve` process on loopback: the client's only change is its endpoint."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from conftest import SMALL, free_port, make_catalog
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from papersift.ingest.hf_daily import record_from_item
from papersift.service.hf_compat import hf_item_json, hf_paper_json
from papersift.service.ingesting import ingest
from papersift.store.schema import Paper

# One daily-papers item as huggingface.co sends it (trimmed), ingested by the real HF parser.
HF_ITEM = {
    "paper": {
        "id": "2509.25541",
        "authors": [{"_id": "68dc", "name": "Qinsi Wang", "hidden": False},
                    {"_id": "68dd", "name": "Bo Liu", "hidden": False}],
        "publishedAt": "2025-09-29T21:55:55.000Z",
        "title": "Vision-Zero: Scalable VLM Self-Improvement via Strategic Gamified Self-Play",
        "summary": "Vision-Zero trains vision-language models with gamified self-play.",
        "upvotes": 55,
        "discussionId": "68dc90f34159d1f2418f9ac8",
        "githubRepo": "https://github.com/wangqinsi1/Vision-Zero",
        "githubStars": 6,
    },
    "numComments": 1,
    "submittedBy": {"_id": "6039", "name": "taesiri"},
}  # fmt: skip


def _papersift_command() -> list[str]:
    script = Path(sys.executable).with_name("papersift")
    return [str(script)] if script.exists() else [sys.executable, "-m", "papersift.cli"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`papersift serve` in a subprocess, on a small corpus ingested beforehand."""
    data = tmp_path_factory.mktemp("hf-compat") / "data"
    cat = make_catalog(data)
    ingest(cat, [*SMALL, record_from_item(HF_ITEM, "2025-10-01")], source="test", location="x")
    cat.close()
    port = free_port()
    log = (data / "serve.log").open("w")
    env = {**os.environ, "PAPERSIFT_SEARCH_RATE_PER_MINUTE": "0"}
    cmd = [*_papersift_command(), "--data-dir", str(data), "serve", "--host", "127.0.0.1",
           "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"papersift serve exited: {(data / 'serve.log').read_text()[-2000:]}")
            try:
                if httpx.get(url + "/api/stats", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.time() > deadline:
                pytest.fail(f"papersift serve did not start: {(data / 'serve.log').read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def api(server: str) -> HfApi:
    return HfApi(endpoint=server, token=False)


def test_list_papers_searches_the_catalogue(api: HfApi) -> None:
    papers = list(api.list_papers(query="learning rate warmup", limit=2))
    assert len(papers) == 2
    top = papers[0]
    assert top.id == "1908.03265"
    assert top.title == "On the Variance of the Adaptive Learning Rate and Beyond"
    assert [a.name for a in top.authors or []] == ["Liyuan Liu", "Haoming Jiang", "Pengcheng He"]
    assert top.published_at == datetime(2019, 8, 8, tzinfo=UTC)
    assert top.summary is not None and top.summary.startswith("The learning rate warmup")
    assert top.upvotes is None  # papersift has no HF votes for it: not invented


def test_list_papers_carries_hf_counts_and_skips_papers_without_arxiv_ids(
    api: HfApi, server: str
) -> None:
    [vision] = list(api.list_papers(query="gamified self-play vision-language", limit=1))
    assert (vision.id, vision.upvotes, vision.comments) == ("2509.25541", 55, 1)
    # The client reads githubRepo only at the item's top level, where HF does not put it;
    # like HF, papersift sends it inside "paper".
    [item] = httpx.get(
        server + "/api/papers/search", params={"q": "Vision-Zero", "limit": 1}
    ).json()
    assert item["paper"]["githubRepo"] == "https://github.com/wangqinsi1/Vision-Zero"
    assert item["paper"]["githubStars"] == 6 and item["numComments"] == 1
    found = list(api.list_papers(query="photosynthesis drought maize sorghum", limit=10))
    assert found and all("Photosynthesis" not in (p.title or "") for p in found)
    assert all(p.id[:4].isdigit() for p in found)


def test_list_papers_without_a_query_lists_the_newest(api: HfApi) -> None:
    ids = [p.id for p in api.list_papers(limit=3)]
    assert ids == ["2509.25541", "2002.05709", "1908.03265"]


def test_paper_info(api: HfApi) -> None:
    info = api.paper_info("2509.25541")
    assert info.title is not None and info.title.startswith("Vision-Zero")
    assert (info.upvotes, info.github_stars) == (55, 6)
    assert info.published_at == datetime(2025, 9, 29, tzinfo=UTC)
    assert [a.name for a in info.authors or []] == ["Qinsi Wang", "Bo Liu"]
    attention = api.paper_info("1706.03762v5")  # a version suffix is accepted
    assert attention.id == "1706.03762" and attention.upvotes is None
    assert attention.github_repo == "https://github.com/tensorflow/tensor2tensor"


@pytest.mark.parametrize("paper_id", ["0000.00000", "2101.00001", "hep-th/9901001", "not-an-id"])
def test_unknown_papers_are_404(api: HfApi, paper_id: str) -> None:
    with pytest.raises(HfHubHTTPError) as err:
        api.paper_info(paper_id)
    assert err.value.response.status_code == 404
    with pytest.raises(HfHubHTTPError) as err:
        api.read_paper(paper_id)
    assert err.value.response.status_code == 404


def test_read_paper_is_markdown(api: HfApi, server: str) -> None:
    text = api.read_paper("1706.03762")
    assert text.startswith("# Attention Is All You Need\n")
    assert "- **Authors:** Ashish Vaswani, Noam Shazeer, Niki Parmar" in text
    assert "[1706.03762](https://arxiv.org/abs/1706.03762)" in text
    assert "## Abstract\n\nWe propose the Transformer" in text
    r = httpx.get(server + "/papers/1706.03762.md")
    assert r.headers["content-type"].startswith("text/markdown")


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"limit": "0"}, "limit must be between 1 and 100"),
        ({"limit": "101"}, "limit must be between 1 and 100"),
        ({"limit": "ten"}, "limit must be an integer"),
        ({"limit": "-3"}, "limit must be between 1 and 100"),
        ({"q": "x" * 1001}, "q is longer than 1000"),
        ({"q": "attention year:soon"}, "cannot read year filter"),
    ],
)
def test_bad_parameters_are_400_json(server: str, params: dict[str, str], error: str) -> None:
    r = httpx.get(server + "/api/papers/search", params={"q": "attention", **params})
    assert r.status_code == 400
    assert error in r.json()["error"]


def test_hf_paper_json_takes_upvotes_from_a_caller_before_hf_ingest() -> None:
    p = Paper(id="arxiv:2401.00001", arxiv_id="2401.00001", title="T", abstract="A",
              authors=["Ann Author"], published=date(2024, 1, 2), code_urls=[],
              extra={"hf_upvotes": 3})  # fmt: skip
    assert hf_paper_json(p)["upvotes"] == 3
    assert hf_paper_json(p, upvotes=10)["upvotes"] == 10
    assert hf_paper_json(p, upvotes=0)["upvotes"] == 0  # a real zero is not "unknown"
    p.extra = {}
    assert "upvotes" not in hf_paper_json(p)
    assert hf_paper_json(p) == {
        "id": "2401.00001",
        "authors": [{"name": "Ann Author"}],
        "publishedAt": "2024-01-02T00:00:00.000Z",
        "title": "T",
        "summary": "A",
    }
    item = hf_item_json(p, upvotes=7)
    assert item["paper"]["upvotes"] == 7 and item["title"] == "T"
    with pytest.raises(ValueError, match="no arXiv id"):
        hf_paper_json(Paper(id="doi:10.1/x", title="T", authors=[], code_urls=[], extra={}))


def test_list_daily_papers_lists_community_submissions_with_their_votes(
    api: HfApi, server: str
) -> None:
    from datetime import UTC, datetime

    from papersift.service.dates import iso_week

    def token(name: str) -> dict[str, str]:
        body = {"username": name, "email": f"{name}@example.org", "password": "a long password"}
        assert httpx.post(server + "/api/auth/signup", json=body).status_code == 201
        r = httpx.post(server + "/api/auth/token", json={"login": name, **body})
        return {"Authorization": f"Bearer {r.json()['token']}"}

    a, b = token("hfdaily_a"), token("hfdaily_b")
    assert httpx.post(server + "/api/daily", json={"paper_id": "1706.03762"}, headers=a).is_success
    assert httpx.post(server + "/api/daily", json={"paper_id": "2002.05709"}, headers=b).is_success
    for h in (a, b):
        assert httpx.post(server + "/api/paper/2002.05709/vote", headers=h).is_success
    today = datetime.now(UTC).date()

    trending = list(api.list_daily_papers(date=today.isoformat(), sort="trending"))
    assert [p.id for p in trending] == ["2002.05709", "1706.03762"]
    assert trending[0].upvotes == 2 and trending[0].submitted_by is not None
    assert trending[0].submitted_by.username == "hfdaily_b"
    assert trending[0].submitted_at is not None and trending[0].submitted_at.date() == today
    assert [p.id for p in api.list_daily_papers(submitter="hfdaily_a")] == ["1706.03762"]
    assert {p.id for p in api.list_daily_papers(week=iso_week(today))} == {
        "2002.05709",
        "1706.03762",
    }
    assert {p.id for p in api.list_daily_papers()} == {"2002.05709", "1706.03762"}  # latest day
    assert list(api.list_daily_papers(date="2001-01-01")) == []
    # publishedAt order: the same day's list, newer paper first; p counts pages from 0
    newest = [p.id for p in api.list_daily_papers(date=today.isoformat(), limit=1, p=1)]
    assert newest == ["1706.03762"]
    for params in ({"date": "2026-02-30"}, {"week": "2026-W99"}, {"sort": "upvotes"}):
        r = httpx.get(server + "/api/daily_papers", params=params)
        assert r.status_code == 400 and r.json()["error"], params
