"""Account pages: sign up, sign in, sign out, and /settings for API tokens.

Also the small helpers every form handler of the community pages shares: where to send the
browser back to (:func:`back`, never off this site), and whether a script asked for JSON.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from papersift.service import accounts
from papersift.service.accounts import AccountError, Principal, Unauthorized
from papersift.service.searching import NotFound
from papersift.web.api import Cat
from papersift.web.auth import (
    SESSION_COOKIE,
    User,
    Viewer,
    check_csrf,
    clear_session_cookie,
    set_session_cookie,
)
from papersift.web.pages import TEMPLATES

router = APIRouter(include_in_schema=False)

NextField = Annotated[str, Form(alias="next", max_length=2000)]


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirects).

    "//evil.example" and "/\\evil.example" are read by browsers as other hosts, so only a single
    leading slash followed by something else passes.
    """
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target)
    ):
        return default
    return target


def back(target: str | None, default: str = "/") -> RedirectResponse:
    """303 See Other to a local page: after a form POST the browser GETs the page again."""
    return RedirectResponse(safe_next(target, default), status_code=303)


def wants_json(request: Request) -> bool:
    """True when static/community.js sent the form with fetch and wants the new state."""
    return "application/json" in request.headers.get("accept", "")


def signed_in(me: Principal | None) -> Principal:
    """The viewer of a page that needs an account; anonymous GETs are sent to /login."""
    if me is None:
        raise Unauthorized("sign in to see this page")
    return me


def _signed_in_response(request: Request, cat_: Cat, who: Principal, target: str) -> Response:
    response = back(target)
    key = accounts.start_session(cat_, who)
    set_session_cookie(request, response, key, max_age=cat_.settings.session_days * 86400)
    return response


# -- sign up / sign in / sign out -----------------------------------------------------------------
@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request, cat_: Cat, next: str = "/") -> HTMLResponse:
    ctx = {"next": safe_next(next), "allow": cat_.settings.allow_signup, "error": None}
    return TEMPLATES.TemplateResponse(request, "signup.html", ctx)


@router.post("/signup", dependencies=[Depends(check_csrf)])
def signup(
    request: Request,
    cat_: Cat,
    username: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=400)] = "",
    password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD + 1)] = "",
    next_: NextField = "/",
) -> Response:
    try:
        who = accounts.sign_up(cat_, username, email, password)
    except AccountError as exc:
        ctx = {
            "next": safe_next(next_),
            "allow": cat_.settings.allow_signup,
            "error": str(exc),
            "username": username,
            "email": email,
        }
        return TEMPLATES.TemplateResponse(request, "signup.html", ctx, status_code=400)
    return _signed_in_response(request, cat_, who, next_)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, me: Viewer, next: str = "/") -> HTMLResponse:
    ctx = {"next": safe_next(next), "error": None, "me": me}
    return TEMPLATES.TemplateResponse(request, "login.html", ctx)


@router.post("/login", dependencies=[Depends(check_csrf)])
def login(
    request: Request,
    cat_: Cat,
    login_: Annotated[str, Form(alias="login", max_length=400)] = "",
    password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD + 1)] = "",
    next_: NextField = "/",
) -> Response:
    try:
        who = accounts.authenticate(cat_, login_, password)
    except AccountError as exc:
        ctx = {"next": safe_next(next_), "error": str(exc), "login": login_, "me": None}
        return TEMPLATES.TemplateResponse(request, "login.html", ctx, status_code=400)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        accounts.end_session(cat_, old)  # a new sign-in replaces whatever session was there
    return _signed_in_response(request, cat_, who, next_)


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request, cat_: Cat) -> Response:
    accounts.end_session(cat_, request.cookies.get(SESSION_COOKIE))
    response = back("/")
    clear_session_cookie(response)
    return response


# -- settings: API tokens -------------------------------------------------------------------------
def _settings(
    request: Request, cat_: Cat, me: Principal, new: accounts.NewTokenOut | None = None
) -> HTMLResponse:
    ctx = {"tokens": accounts.list_tokens(cat_, me), "new_token": new}
    response = TEMPLATES.TemplateResponse(request, "settings.html", ctx)
    response.headers["Cache-Control"] = "no-store"  # the page may show a secret
    return response


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, cat_: Cat, me: Viewer) -> HTMLResponse:
    return _settings(request, cat_, signed_in(me))


@router.post("/settings/tokens", response_class=HTMLResponse)
def create_token(
    request: Request, cat_: Cat, me: User, name: Annotated[str, Form(max_length=100)] = ""
) -> HTMLResponse:
    """Render the new token right here, not after a redirect: this response is its only copy."""
    return _settings(request, cat_, me, accounts.create_token(cat_, me, name))


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(cat_: Cat, me: User, token_id: int) -> Response:
    try:
        accounts.revoke_token(cat_, me, token_id)
    except LookupError as exc:
        raise NotFound(str(exc)) from exc
    return back("/settings")
