"""Every setting can come from a ``PAPERSIFT_<NAME>`` variable; explicit arguments win."""

from __future__ import annotations

import pytest

from papersift.config import Settings


def test_environment_variables_set_fields_and_arguments_override_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PAPERSIFT_RERANK", "false")
    monkeypatch.setenv("PAPERSIFT_FUSION_KEYWORD_WEIGHT", "0.7")
    monkeypatch.setenv("papersift_page_size", "35")  # any case, as pydantic-settings allowed
    monkeypatch.setenv("PAPERSIFT_DAILY_AUTO_CATEGORIES", '["cs.LG", "stat"]')
    monkeypatch.setenv("PAPERSIFT_SMTP_PASSWORD", "hunter2")
    monkeypatch.setenv("PAPERSIFT_NOT_A_SETTING", "ignored")
    s = Settings()
    assert s.rerank is False and s.keyword_weight == 0.7 and s.page_size == 35
    assert s.daily_auto_categories == ["cs.LG", "stat"]
    assert s.smtp_password.get_secret_value() == "hunter2" and "hunter2" not in repr(s)
    assert Settings(page_size=10, rerank=True).page_size == 10


def test_bad_values_in_the_environment_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PAPERSIFT_DAILY_AUTO_CATEGORIES", "cs.LG")  # not JSON
    with pytest.raises(ValueError, match="PAPERSIFT_DAILY_AUTO_CATEGORIES"):
        Settings()
    monkeypatch.delenv("PAPERSIFT_DAILY_AUTO_CATEGORIES")
    monkeypatch.setenv("PAPERSIFT_FUSION_KEYWORD_WEIGHT", "1.5")  # out of range
    with pytest.raises(ValueError, match="fusion_keyword_weight"):
        Settings()
