"""Who is asking, and is this form really theirs: sessions, API tokens and CSRF for the web app.

- Browsers sign in and get a ``ps_session`` cookie (HttpOnly, SameSite=Lax, Secure on https).
- Scripts send ``Authorization: Bearer ps_...`` (an API token from /settings/tokens).
- Every state-changing request authenticated by cookie must also carry the CSRF token, either as
  the ``csrf_token`` form field or the ``X-CSRF-Token`` header. The token is a random value in a
  ``ps_csrf`` cookie (double-submit): a page on another origin can make the browser send the
  cookie but cannot read it, so it cannot put the same value in the form. Requests authenticated
  by a bearer token need no CSRF token (browsers never attach one by themselves).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Response

from papersift.service import accounts
from papersift.service.accounts import Forbidden, Principal, Unauthorized
from papersift.service.catalog import Catalog

SESSION_COOKIE = "ps_session"
CSRF_COOKIE = "ps_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class CsrfError(PermissionError):
    """A cookie-authenticated form or request without the matching CSRF token."""


def _catalog(request: Request) -> Catalog:
    return request.app.state.catalog


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def viewer(request: Request) -> Principal | None:
    """The signed-in user (bearer token first, then session cookie), or None. Cached per request."""
    if hasattr(request.state, "viewer"):
        return request.state.viewer
    cat = _catalog(request)
    token = _bearer(request)
    if token is not None:
        who = accounts.token_user(cat, token)
        if who is None:
            raise Unauthorized("invalid or revoked API token")
        request.state.auth = "token"
    else:
        who = accounts.session_user(cat, request.cookies.get(SESSION_COOKIE))
        request.state.auth = "session" if who else None
    request.state.viewer = who
    return who


def csrf_token(request: Request) -> str:
    """This browser's CSRF token (set as a cookie by :func:`csrf_cookie_middleware`)."""
    return getattr(request.state, "csrf", None) or request.cookies.get(CSRF_COOKIE, "")


async def check_csrf(request: Request) -> None:
    """Reject a cookie-authenticated (or anonymous form) unsafe request without the CSRF token."""
    if request.method in SAFE_METHODS:
        return
    if _bearer(request) is not None:
        return
    expected = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD, "")
        sent = value if isinstance(value, str) else ""
    if not expected or not sent or not secrets.compare_digest(expected, sent):
        raise CsrfError("missing or wrong CSRF token: reload the page and try again")


def optional_user(request: Request) -> Principal | None:
    return viewer(request)


async def require_user(request: Request) -> Principal:
    """A signed-in user for a state-changing request, CSRF-checked when authenticated by cookie."""
    who = viewer(request)
    if who is None:
        raise Unauthorized("sign in first (or send an API token)")
    await check_csrf(request)
    return who


async def require_admin(request: Request) -> Principal:
    who = await require_user(request)
    if not who.is_admin:
        raise Forbidden("only an admin can do this")
    return who


Viewer = Annotated[Principal | None, Depends(optional_user)]
User = Annotated[Principal, Depends(require_user)]
Admin = Annotated[Principal, Depends(require_admin)]


def set_session_cookie(request: Request, response: Response, key: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        key,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


async def csrf_cookie_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Give every browser a CSRF token before it sees its first form."""
    fresh = None
    if not request.cookies.get(CSRF_COOKIE):
        fresh = secrets.token_urlsafe(32)
        request.state.csrf = fresh
    response = await call_next(request)
    if fresh is not None:
        response.set_cookie(
            CSRF_COOKIE,
            fresh,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
    return response
