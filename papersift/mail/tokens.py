"""Signed links in mail: confirm, unsubscribe, manage preferences.

Each purpose has its own salt, so a token made for one can never be replayed as another (an
unsubscribe token cannot confirm, a confirmation token cannot change preferences). They are
signed with the server's key (``Settings.signing_key()``) by itsdangerous, and carry the
subscription id and its ``token_version``:

- confirm: expires after :data:`CONFIRM_MAX_AGE` (48 h); it names the address too, so a token for
  one address can never confirm another even if ids were reused.
- unsubscribe and manage: never expire (they sit in every digest, which people read weeks later),
  but stop working when ``token_version`` is bumped, which unsubscribing does. Re-subscribing
  therefore starts a fresh set of links; an old mail's links cannot act on the new subscription.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from itsdangerous import BadSignature, Serializer, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

Purpose = Literal["confirm", "unsubscribe", "manage"]
SALTS: dict[Purpose, str] = {
    "confirm": "papersift.digest.confirm",
    "unsubscribe": "papersift.digest.unsubscribe",
    "manage": "papersift.digest.manage",
}
CONFIRM_MAX_AGE = 48 * 3600
MAX_TOKEN_CHARS = 500


class TokenError(ValueError):
    """A link that is malformed, tampered with, expired, or made for something else."""


@dataclass(frozen=True)
class LinkToken:
    subscription_id: int
    version: int
    email: str | None = None


class _Serializer(URLSafeTimedSerializer):
    """Skips the zlib attempt on payloads of a few bytes, which never shrink (a third of the
    cost of a token, and a digest run makes two per subscriber). Reading is unchanged."""

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))


class Signer:
    """Makes and checks the three kinds of tokens with one key (serializers built once)."""

    def __init__(self, key: str) -> None:
        self._serializers = {p: _Serializer(key, salt=salt) for p, salt in SALTS.items()}

    def make(self, purpose: Purpose, subscription_id: int, version: int, email: str = "") -> str:
        payload: list[Any] = [subscription_id, version]
        if purpose == "confirm":
            payload.append(email)
        return str(self._serializers[purpose].dumps(payload))

    def read(self, purpose: Purpose, token: str) -> LinkToken:
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise TokenError("this link is incomplete; copy the whole link from the mail")
        max_age = CONFIRM_MAX_AGE if purpose == "confirm" else None
        try:
            payload = self._serializers[purpose].loads(token, max_age=max_age)
        except SignatureExpired:
            raise TokenError("this confirmation link has expired; subscribe again") from None
        except BadSignature:
            raise TokenError("this link is not valid (it may be cut short or altered)") from None
        if (
            not isinstance(payload, list)
            or len(payload) < 2
            or not all(isinstance(x, int) for x in payload[:2])
        ):
            raise TokenError("this link is not valid")
        email = str(payload[2]) if purpose == "confirm" and len(payload) > 2 else None
        return LinkToken(int(payload[0]), int(payload[1]), email)
