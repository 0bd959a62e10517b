"""Digest subscriptions on the web: /subscribe, /subscribe/confirm, /subscribe/manage,
/unsubscribe, and the JSON API under /api/subscriptions.

Links in mail are opened by people *and* by mail scanners that follow every link, so no GET
changes anything: the confirmation and unsubscribe links open a page with a button.

``POST /unsubscribe?token=`` is deliberately exempt from the CSRF check. It is the RFC 8058
one-click target named in the ``List-Unsubscribe`` header, which mail providers POST to from
their own servers, with no cookie and no form of ours; the signed token in the URL is the whole
authority (it names one subscription, cannot be forged, and can only ever unsubscribe). A forged
cross-site POST would need that token, and all it could do is what its holder may do anyway.
The other forms (subscribe, confirm, preferences) carry the usual CSRF token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from papersift.mail.content import CONTENT_KINDS, CONTENT_TITLES
from papersift.service import subscriptions as subs
from papersift.service.accounts import AccountError, Principal
from papersift.service.subscriptions import ContentKind, Frequency, SubscriptionOut
from papersift.web.api import Cat
from papersift.web.auth import CsrfError, check_csrf, csrf_token, viewer
from papersift.web.pages import TEMPLATES
from papersift.web.ratelimit import RateLimiter

if TYPE_CHECKING:
    from papersift.mail.scheduler import DigestScheduler
    from papersift.service.catalog import Catalog

SUBSCRIBES_PER_MINUTE = 10
TokenQuery = Annotated[str, Query(max_length=600, description="the signed token from the mail")]

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/subscriptions", tags=["digests"])


def limit_subscribe(request: Request) -> None:
    """Subscription requests per client address (the per-address re-send limit is separate)."""
    limiter: RateLimiter | None = getattr(request.app.state, "subscribe_limiter", None)
    if limiter is None:
        limiter = request.app.state.subscribe_limiter = RateLimiter(SUBSCRIBES_PER_MINUTE)
    limiter.check(request.client.host if request.client else "unknown")


def _render(
    request: Request, name: str, ctx: Mapping[str, object], status: int = 200
) -> HTMLResponse:
    base: dict[str, object] = {
        "csrf": csrf_token(request),
        "kinds": [(k, CONTENT_TITLES[k]) for k in CONTENT_KINDS],
    }
    return TEMPLATES.TemplateResponse(request, name, {**base, **ctx}, status_code=status)


# -- pages --------------------------------------------------------------------------------------
@pages.get("/subscribe", response_class=HTMLResponse)
def subscribe_page(request: Request, cat_: Cat) -> HTMLResponse:
    who = viewer(request)
    email = subs.account_email(cat_, who) if who else ""
    return _render(
        request,
        "subscribe.html",
        {"email": email, "frequency": "daily", "content": subs.DEFAULT_CONTENT, "who": who},
    )


@pages.post("/subscribe", response_class=HTMLResponse, dependencies=[Depends(limit_subscribe)])
async def subscribe_form(request: Request, cat_: Cat, background: BackgroundTasks) -> HTMLResponse:
    await check_csrf(request)
    who = viewer(request)
    form = await request.form()
    email = str(form.get("email", ""))[:320]
    frequency = str(form.get("frequency", "daily"))
    content = [str(c) for c in form.getlist("content")]
    try:
        out = subs.subscribe(cat_, email, frequency=frequency, content=content, who=who)
    except AccountError as exc:
        ctx = {"email": email, "frequency": frequency, "content": content, "who": who,
               "error": str(exc)}  # fmt: skip
        return _render(request, "subscribe.html", ctx, status=400)
    # Sent after the response, so the answer (and its timing) is the same for every address.
    background.add_task(subs.send_mail, cat_, out)
    return _render(request, "subscribe_sent.html", {"email": email.strip()})


@pages.get("/subscribe/confirm", response_class=HTMLResponse)
def confirm_page(request: Request, cat_: Cat, token: TokenQuery = "") -> HTMLResponse:
    subs.check_token(cat_, "confirm", token)
    return _render(request, "subscribe_confirm.html", {"token": token, "done": None})


@pages.post("/subscribe/confirm", response_class=HTMLResponse)
async def confirm_form(request: Request, cat_: Cat, token: TokenQuery = "") -> HTMLResponse:
    await check_csrf(request)
    sub = subs.confirm(cat_, token)
    manage = subs.manage_token_for_confirm(cat_, token)
    return _render(request, "subscribe_confirm.html", {"done": sub, "manage_token": manage})


@pages.get("/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(request: Request, cat_: Cat, token: TokenQuery = "") -> HTMLResponse:
    subs.check_token(cat_, "unsubscribe", token)
    return _render(request, "unsubscribe.html", {"token": token, "done": None})


@pages.post("/unsubscribe", response_class=HTMLResponse)
def unsubscribe_now(request: Request, cat_: Cat, token: TokenQuery = "") -> HTMLResponse:
    """RFC 8058 one-click target: no CSRF token, no sign-in (see the module docstring)."""
    sub = subs.unsubscribe(cat_, token)
    return _render(request, "unsubscribe.html", {"done": sub})


@pages.get("/subscribe/manage", response_class=HTMLResponse)
def manage_page(request: Request, cat_: Cat, token: TokenQuery = "") -> HTMLResponse:
    sub = subs.preferences(cat_, token)
    unsubscribe = subs.unsubscribe_token(cat_, token)
    ctx = {"sub": sub, "token": token, "unsubscribe_token": unsubscribe, "saved": False}
    return _render(request, "subscribe_manage.html", ctx)


@pages.post("/subscribe/manage", response_class=HTMLResponse)
async def manage_form(request: Request, cat_: Cat, token: TokenQuery = "") -> HTMLResponse:
    await check_csrf(request)
    form = await request.form()
    tags = [t for t in str(form.get("tags", "")).replace(",", " ").split() if t]
    sub = subs.update_preferences(
        cat_,
        token,
        frequency=str(form.get("frequency", "daily")),
        content=[str(c) for c in form.getlist("content")],
        tags=tags,
    )
    unsubscribe = subs.unsubscribe_token(cat_, token)
    ctx = {"sub": sub, "token": token, "unsubscribe_token": unsubscribe, "saved": True}
    return _render(request, "subscribe_manage.html", ctx)


# -- API ----------------------------------------------------------------------------------------
def _default_content() -> list[ContentKind]:
    return ["trending", "daily"]


class SubscribeIn(BaseModel):
    email: str = Field(max_length=320)
    frequency: Frequency = "daily"
    content: list[ContentKind] = Field(default_factory=_default_content)


class SubscribeAccepted(BaseModel):
    status: str = Field(
        default="pending", description="always 'pending', whatever the address's state"
    )
    detail: str


class TokenIn(BaseModel):
    token: str = Field(max_length=600)


class PreferencesIn(TokenIn):
    frequency: Frequency | None = None
    content: list[ContentKind] | None = None
    tags: list[str] | None = Field(None, description="your tags for recommendation sections")


async def _linkable(request: Request) -> Principal | None:
    """The caller's account, when it may be linked: API token, or session cookie with CSRF."""
    who = viewer(request)
    if who is not None and request.state.auth == "session":
        try:
            await check_csrf(request)
        except CsrfError:
            return None
    return who


@api.post(
    "",
    status_code=202,
    response_model=SubscribeAccepted,
    dependencies=[Depends(limit_subscribe)],
    responses={400: {"description": "not an email address, or unknown content"}},
)
async def api_subscribe(
    body: SubscribeIn, request: Request, cat_: Cat, background: BackgroundTasks
) -> Response:
    """Ask for digests at an address (double opt-in: a confirmation mail is sent first).

    The answer is the same whether or not the address is already subscribed. Signed-in callers
    (API token, or session cookie plus CSRF header) get their account linked, which lets the
    digest carry their saved searches and recommendations.
    """
    who = await _linkable(request)
    out = subs.subscribe(cat_, body.email, frequency=body.frequency, content=body.content, who=who)
    background.add_task(subs.send_mail, cat_, out)
    accepted = SubscribeAccepted(
        detail="if the address can receive digests, a mail with a confirmation link is on its way"
    )
    return JSONResponse(accepted.model_dump(), status_code=202)


@api.post("/confirm", response_model=SubscriptionOut, responses={400: {"description": "bad token"}})
def api_confirm(body: TokenIn, cat_: Cat) -> Response:
    """Confirm with the token from the confirmation mail (valid 48 h)."""
    return JSONResponse(subs.confirm(cat_, body.token).model_dump(mode="json"))


@api.post(
    "/unsubscribe", response_model=SubscriptionOut, responses={400: {"description": "bad token"}}
)
def api_unsubscribe(body: TokenIn, cat_: Cat) -> Response:
    """Unsubscribe with the token of any digest's unsubscribe link; immediate, no sign-in."""
    return JSONResponse(subs.unsubscribe(cat_, body.token).model_dump(mode="json"))


@api.get(
    "/preferences", response_model=SubscriptionOut, responses={400: {"description": "bad token"}}
)
def api_preferences(cat_: Cat, token: TokenQuery) -> Response:
    """A subscription's preferences, by the token of a digest's preferences link."""
    return JSONResponse(subs.preferences(cat_, token).model_dump(mode="json"))


@api.put(
    "/preferences",
    response_model=SubscriptionOut,
    responses={400: {"description": "bad token or values"}},
)
def api_update_preferences(body: PreferencesIn, cat_: Cat) -> Response:
    """Change frequency, content or recommendation tags; omitted fields stay as they are."""
    sub = subs.update_preferences(
        cat_, body.token, frequency=body.frequency, content=body.content, tags=body.tags
    )
    return JSONResponse(sub.model_dump(mode="json"))


router = APIRouter()
router.include_router(pages)
router.include_router(api)


def start_scheduler(catalog: Catalog) -> DigestScheduler | None:
    """The digest scheduler for ``serve``'s lifespan, started when ``digest_scheduler`` is on."""
    if not catalog.settings.digest_scheduler:
        return None
    from papersift.mail.scheduler import DigestScheduler

    scheduler = DigestScheduler(catalog)
    scheduler.start()
    return scheduler
