"""One settings object for every face of papersift (CLI, web, API, jobs).

Values come from, in order of precedence: explicit arguments (CLI flags), ``PAPERSIFT_*``
environment variables, a ``papersift.toml``-free default that works out of the box (a data dir
under the user's home).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Mode = Literal["hybrid", "keyword", "semantic"]


def default_data_dir() -> Path:
    return Path.home() / ".papersift"


class Settings(BaseSettings):
    """Where data lives and how search behaves; every field can be set as ``PAPERSIFT_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="PAPERSIFT_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    # SQLAlchemy URL; empty means a SQLite file inside data_dir.
    db_url: str = ""
    # Encoder: "minilm-onnx" (shipped, CPU, default) or "st:<sentence-transformers name or path>".
    encoder: str = "minilm-onnx"
    embed_batch_size: int = 64
    # Fusion of keyword and vector results (see papersift.index.hybrid).
    # z-score beat RRF on SciFact train (nDCG@10 0.702 vs 0.681), chosen there, not on test.
    fusion: Literal["rrf", "zscore"] = "zscore"
    rrf_k: int = 60
    fusion_depth: int = 100
    default_mode: Mode = "hybrid"
    page_size: int = 20
    # Public search rate limit per client address (requests per minute; 0 disables it).
    search_rate_per_minute: int = 120
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{self.data_dir / 'papersift.sqlite'}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"
