"""The FastAPI app: server-rendered pages and the JSON API over one shared Catalog."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from papersift import __version__
from papersift.config import Settings
from papersift.index.query import QueryError
from papersift.mail.tokens import TokenError
from papersift.service.accounts import AccountError, Forbidden, Unauthorized
from papersift.service.catalog import Catalog
from papersift.service.searching import NotFound
from papersift.service.warmup import warm_up
from papersift.web import (
    api,
    api_community,
    browser,
    compat_arxiv,
    compat_hf,
    feeds,
    pages,
    pages_account,
    pages_community,
    pages_library,
    subscribe,
)
from papersift.web.auth import CsrfError, csrf_cookie_middleware
from papersift.web.ratelimit import RateLimited

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("uvicorn.error")  # printed with the server's own start-up lines


def create_app(
    settings: Settings | None = None, catalog: Catalog | None = None, *, warm: bool = False
) -> FastAPI:
    """``warm``: load the model and run one search before taking requests, then freeze the
    heap out of the garbage collector's full passes (:mod:`papersift.service.warmup`); what
    ``papersift serve`` does, so its first user does not wait for the model."""
    settings = settings or (catalog.settings if catalog else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cat = catalog or Catalog(settings)
        cat.sync(embed=False)  # catch up with anything ingested while the server was down
        app.state.catalog = cat
        if warm:
            done = await asyncio.to_thread(warm_up, cat)
            log.info(
                "warmed up in %.2f s (encoder %s), %d objects frozen",
                done.seconds,
                "loaded" if done.encoder else "not loaded",
                done.frozen,
            )
        scheduler = subscribe.start_scheduler(cat)  # digests, when digest_scheduler is on
        yield
        if scheduler is not None:
            scheduler.stop()
        if catalog is None:
            cat.close()

    app = FastAPI(
        title="papersift",
        version=__version__,
        description="Search research papers by keyword and by meaning.",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Specific routes first: /api/paper/{id}/vote must not be read as the paper "{id}/vote",
    # nor /u/{user}/tags/{slug}.atom as the tag "{slug}.atom".
    app.include_router(api_community.router)
    app.include_router(feeds.router)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(subscribe.router)
    app.include_router(pages_account.router)
    app.include_router(pages_community.router)
    app.include_router(pages_library.router)
    app.include_router(compat_hf.router)
    app.include_router(compat_arxiv.router)
    app.include_router(browser.router)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """A browser that asks for a page that is not there gets the site's error page; API
        clients, feed readers and forms keep FastAPI's JSON answer."""
        wants_html = "text/html" in request.headers.get("accept", "")
        if request.url.path.startswith("/api/") or request.method != "GET" or not wants_html:
            return await http_exception_handler(request, exc)
        message = "No such page." if exc.status_code == 404 else str(exc.detail)
        return pages.render_error(request, exc.status_code, message)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(exc)}, status_code=404)
        return pages.render_error(request, 404, str(exc))  # type: ignore[return-value]

    @app.exception_handler(QueryError)
    async def bad_query(request: Request, exc: QueryError) -> JSONResponse:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(exc)}, status_code=400)
        return pages.render_error(request, 400, str(exc))  # type: ignore[return-value]

    def _error(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=status)
        return pages.render_error(request, status, message)

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, exc: Unauthorized) -> Response:
        if request.url.path.startswith("/api/") or request.method != "GET":
            headers = {"WWW-Authenticate": "Bearer"} if request.url.path.startswith("/api/") else {}
            if request.url.path.startswith("/api/"):
                return JSONResponse({"error": str(exc)}, status_code=401, headers=headers)
            return _error(request, 401, str(exc))
        return RedirectResponse(f"/login?next={quote(str(request.url.path))}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return _error(request, 403, str(exc))

    @app.exception_handler(CsrfError)
    async def csrf_failed(request: Request, exc: CsrfError) -> Response:
        return _error(request, 403, str(exc))

    @app.exception_handler(AccountError)
    async def bad_account_input(request: Request, exc: AccountError) -> Response:
        return _error(request, 400, str(exc))

    @app.exception_handler(TokenError)
    async def bad_token(request: Request, exc: TokenError) -> Response:
        """A confirmation, unsubscribe or preferences link that is forged, expired or spent."""
        return _error(request, 400, str(exc))

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse({"error": "too many requests; slow down"}, 429, headers=headers)

    app.middleware("http")(csrf_cookie_middleware)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'",
        )
        return response

    return app
