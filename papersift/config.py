"""One settings object for every face of papersift (CLI, web, API, jobs).

Values come from, in order of precedence: explicit arguments (CLI flags), ``PAPERSIFT_*``
environment variables, a ``papersift.toml``-free default that works out of the box (a data dir
under the user's home).
"""

from __future__ import annotations

import json
import os
import secrets
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic.fields import FieldInfo

Mode = Literal["hybrid", "keyword", "semantic"]


def default_data_dir() -> Path:
    return Path.home() / ".papersift"


# The keyword list's default fusion weight per encoder, chosen on SciFact train. MiniLM: equal
# weights (0.4 / 0.5 / 0.6 scored 0.723 / 0.729 / 0.732, too close to prefer one side). The
# static encoder's vectors are weaker, so keywords count more: hybrid nDCG@10 on train 0.689 at
# 0.5, 0.704 at 0.7, 0.708 at 0.8, 0.711 at 0.9; 0.8 keeps the semantic leg a fifth of the say
# where the curve has flattened. Test, run once afterwards: 0.682 at 0.5, 0.6996 at 0.8.
KEYWORD_WEIGHT_BY_ENCODER = {"minilm-onnx": 0.5, "static-minilm": 0.8}
DEFAULT_KEYWORD_WEIGHT = 0.5


ENV_PREFIX = "PAPERSIFT_"


def settings_from_env(fields: dict[str, FieldInfo]) -> dict[str, Any]:
    """``PAPERSIFT_<NAME>`` variables (any case) for the known fields, as pydantic-settings
    reads them: the text as is for pydantic to convert, JSON for list fields.

    Read here rather than through pydantic-settings, whose import adds ~70 ms (measured after
    pydantic, SQLAlchemy and numpy had loaded) to the ~1 s a cold ``papersift search`` may take.
    """
    out: dict[str, Any] = {}
    for key, raw in os.environ.items():
        if not key.upper().startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :].lower()
        field = fields.get(name)
        if field is None:
            continue
        if typing.get_origin(field.annotation) in (list, dict, set, tuple):
            try:
                out[name] = json.loads(raw)
            except ValueError as e:
                raise ValueError(f"{key}: expected a JSON list, got {raw!r} ({e})") from e
        else:
            out[name] = raw
    return out


class Settings(BaseModel):
    """Where data lives and how search behaves; every field can be set as ``PAPERSIFT_<NAME>``."""

    model_config = ConfigDict(extra="ignore")

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**settings_from_env(type(self).model_fields), **values})

    data_dir: Path = Field(default_factory=default_data_dir)
    # SQLAlchemy URL; empty means a SQLite file inside data_dir.
    db_url: str = ""
    # Encoder: "minilm-onnx" (shipped, CPU, default) or "st:<sentence-transformers name or path>".
    encoder: str = "minilm-onnx"
    embed_batch_size: int = 64
    # Fusion of keyword and vector results (see papersift.index.hybrid).
    # z-score beat RRF on SciFact train (hybrid nDCG@10 0.729 vs 0.713), chosen there, not on test.
    fusion: Literal["rrf", "zscore"] = "zscore"
    rrf_k: int = 60
    # Candidates per retriever. Chosen on SciFact train: 1000 scored about the same as 100
    # (hybrid nDCG@10 0.732 vs 0.729) at 4-5x the latency (ten times the candidates to load).
    fusion_depth: int = 100
    # z-score weight of the keyword list (the semantic list gets 1 - this); unset, the
    # encoder's own default from KEYWORD_WEIGHT_BY_ENCODER (see keyword_weight).
    fusion_keyword_weight: float | None = Field(default=None, ge=0.0, le=1.0)
    # Rerank the hybrid top 100 with the shipped tree model (papersift.rank.rerank), trained on
    # SciFact train only (5-fold cross-validated nDCG@10 on train, folds grouped by cited
    # abstract: 0.736 vs 0.729 without).
    rerank: bool = True
    # Pseudo-relevance feedback from the fused top prf_docs papers (0: off). Off, chosen on
    # SciFact train: dense Rocchio (3-10 papers, beta 0.5-1) scored 0.730-0.735 nDCG@10 against
    # 0.729 without, less than the rerank, whose cosine_feedback feature is the same signal;
    # RM3 terms (5 papers, 30 terms, weight 0.3) scored 0.719.
    prf_docs: int = 0
    prf_dense_beta: float = 0.5
    prf_terms: int = 0
    prf_term_weight: float = Field(default=0.3, gt=0.0, lt=1.0)
    default_mode: Mode = "hybrid"
    page_size: int = 20
    # Public search rate limit per client address (requests per minute; 0 disables it).
    search_rate_per_minute: int = 120
    host: str = "127.0.0.1"
    port: int = 8000
    # Where users reach this server; used in links that leave the web UI (feeds, mail).
    base_url: str = "http://127.0.0.1:8000"
    # Signs cookies and confirmation/unsubscribe links. Empty: a random key is created once and
    # kept in <data_dir>/secret_key (mode 0600), so links stay valid across restarts.
    secret_key: str = ""
    allow_signup: bool = True
    # Password attempts and sign-ups per client address per minute (0 disables the limit).
    login_rate_per_minute: int = 10
    session_days: int = 30
    # Trending (papersift.rank.trending): points / (age_hours + offset) ** gravity, where
    # points = votes + imported_weight * imported_votes + save_weight * saves
    # + code_bonus * has_code. Hacker News uses gravity 1.8. Imported votes are the upvotes a
    # paper brought from Hugging Face daily papers (0 disables them).
    # Recommendations: the keyword leg's query is the saved papers' top recommend_terms tf-idf
    # terms (0: embeddings only), and its z-scored BM25 weighs recommend_keyword_weight against
    # the embedding model's z-scored score over both legs' candidates. Chosen on synthetic users
    # of seed 0 in benchmarks/recommend.py (mean recall@20 over user and tag requests: 0.251
    # embeddings only, 0.266-0.273 keyword only, 0.290 fused at weight 0.3-0.5). On top,
    # recommend_neighbour_weight adds each candidate's z-scored mean cosine to its 5 nearest saves
    # (0: off); chosen on seeds 0 and 2 (recall@20 per tag 0.315 -> 0.326 at 0.3, per user
    # 0.2405 -> 0.2421).
    recommend_terms: int = Field(default=15, ge=0, le=100)
    recommend_keyword_weight: float = Field(default=0.4, ge=0.0, le=1.0)
    recommend_neighbour_weight: float = Field(default=0.3, ge=0.0, le=2.0)
    trending_gravity: float = 1.5
    trending_offset_hours: float = 2.0
    trending_save_weight: float = 0.5
    trending_code_bonus: float = 0.0
    trending_imported_weight: float = 1.0
    # Automatic daily feed: papers first published on a day in these categories (or archives,
    # "cs" for all of cs.*) join that day's list beside the ones users submitted. Empty: off.
    daily_auto_categories: list[str] = Field(default_factory=list)
    # Mail (papersift.mail): digests go out through any SMTP server.
    smtp_host: str = "localhost"
    smtp_port: int = 25
    # "none" (plain, e.g. a local relay), "starttls" (usually port 587) or "ssl" (port 465).
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    smtp_username: str = ""  # AUTH only when set
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout: float = 30.0
    # The From header; its address is also the envelope sender that receives bounces.
    mail_from: str = "papersift <papersift@localhost>"
    # True: a subscriber with nothing new this period (every paper of their sections was in an
    # earlier digest) gets no mail, and the period is logged as "empty". False: they get a short
    # "nothing new" digest instead.
    digest_skip_empty: bool = True
    # The built-in scheduler in `papersift serve` (off by default; cron can run
    # `papersift digest send` instead): sends each day from this hour (UTC) on, weekly digests
    # on Mondays, and retries failed deliveries whose backoff has elapsed.
    digest_scheduler: bool = False
    digest_send_hour_utc: int = Field(default=7, ge=0, le=23)
    # How long a run may hold a claimed delivery before another run may take it over.
    digest_lease_seconds: int = 600

    @property
    def keyword_weight(self) -> float:
        """The keyword list's fusion weight: the setting, else the encoder's default."""
        if self.fusion_keyword_weight is not None:
            return self.fusion_keyword_weight
        return KEYWORD_WEIGHT_BY_ENCODER.get(self.encoder, DEFAULT_KEYWORD_WEIGHT)

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{self.data_dir / 'papersift.sqlite'}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    def signing_key(self) -> str:
        """The configured secret, or one generated on first use and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process won the race: use its key
            return path.read_text().strip()
        with os.fdopen(fd, "w") as f:
            f.write(key)
        return key
