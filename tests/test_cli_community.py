"""The community commands, run the way a server operator would type them."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from pybtex.database import parse_string

from papersift.cli import main


def run(data: Path, *args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--data-dir", str(data), *args], input=input)
    return result.exit_code, result.output


def test_vote_tag_trending_and_bibtex_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "d"
    papers = tmp_path / "papers.jsonl"
    papers.write_text(
        '{"id": "2101.00001", "title": "Warmup schedules for learning rates", '
        '"abstract": "We study warmup.", "authors": ["Ada Lovelace"], "published": "2021-01-01"}\n'
        '{"id": "2101.00002", "title": "Contrastive losses", "abstract": "Metric learning.", '
        '"authors": ["Alan Turing"], "published": "2021-01-02"}\n'
    )
    assert run(data, "ingest", "jsonl", str(papers), "--no-embed")[0] == 0
    code, out = run(data, "user", "add", "ada", "ada@example.org", input="pw-long-enough\n" * 2)
    assert code == 0 and "admin" in out  # the first user
    assert run(data, "vote", "2101.00002", "--user", "ada")[1].strip().endswith("1 votes")
    assert run(data, "vote", "2101.00002", "--user", "nobody")[0] == 2
    code, out = run(data, "daily", "--submit", "2101.00002", "--user", "ada")
    assert code == 0 and "added to" in out
    code, out = run(data, "trending", "--window", "day")
    assert code == 0 and out.splitlines()[0].endswith("Contrastive losses  (1 votes)")
    assert "1 vote = 1 points" in out
    assert run(data, "tag", "add", "To read", "2101.00001", "--user", "ada")[0] == 0
    code, out = run(data, "tag", "list", "--user", "ada")
    assert "to-read" in out and "private" in out
    code, out = run(data, "tag", "bibtex", "to-read", "--user", "ada")
    entries = parse_string(out, "bibtex").entries
    assert list(entries) == ["lovelace2021warmup"]
    assert run(data, "daily", "--date", "2021-13-40")[0] == 2
