"""Routes of the pages. Thin: each reads who is asking, asks ``api.web.pages`` for the data
and renders a template in the asker's language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

import jinja2
from babel.support import NullTranslations
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import NowDep, ServicesDep
from api.services.container import Services
from api.services.errors import NotFound
from api.services.keys import Principal, may_read_site
from api.web import chart, words
from api.web.auth import SESSION_COOKIE, Sessions
from api.web.i18n import N_, Local, negotiate, read_catalogues
from api.web.pages import Pages, ParsedPlans

HERE = Path(__file__).parent
LANG_COOKIE = "vg_lang"
_PLAN_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_SITE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Web:
    """What the pages keep for the app's life: templates, catalogues and the stylesheet."""

    env: jinja2.Environment
    catalogues: dict[str, NullTranslations]
    css: str
    parsed: ParsedPlans


class PageError(Exception):
    """A page that cannot be shown: its status and a message id with its values."""

    def __init__(self, status: int, message: str, **values: Any):
        super().__init__(message)
        self.status, self.message, self.values = status, message, values


class LoginNeeded(Exception):
    """No valid session: the browser is sent to the login page."""


def install(app: FastAPI) -> None:
    """Add the pages to ``app``: templates, catalogues, routes and error pages."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True)
    app.state.web = Web(env, read_catalogues(), (HERE / "static" / "pages.css").read_text(),
                        ParsedPlans())

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> Response:
        return render(request, "error.html", status=exc.status, message=exc.message,
                      values=exc.values)

    @app.exception_handler(LoginNeeded)
    async def _login(_request: Request, _exc: LoginNeeded) -> Response:
        return RedirectResponse("/login", 303, headers=HEADERS)

    app.include_router(router)


def language(request: Request) -> str:
    web: Web = request.app.state.web
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in web.catalogues:
        return str(chosen)
    return negotiate(request.headers.get("accept-language"), list(web.catalogues))


def local_for(request: Request, currency: str = "CNY") -> Local:
    lang = language(request)
    return Local(lang, request.app.state.web.catalogues[lang], currency)


def render(request: Request, template: str, status: int = 200, currency: str = "CNY",
           **context: Any) -> HTMLResponse:
    web: Web = request.app.state.web
    local = local_for(request, currency)
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if isinstance(context.get("day"), date):
        context["day_before"] = context["day"] - timedelta(days=1)
        context["day_after"] = context["day"] + timedelta(days=1)
    html = web.env.get_template(template).render(
        _=local.gettext, L=local, css=web.css, here=quote(path, safe="/?=&-_."),
        languages=list(web.catalogues), lang=local.lang, **context)
    return HTMLResponse(html, status, headers=HEADERS)


def pages(request: Request, services: Services) -> Pages:
    return Pages(services, request.app.state.web.parsed)


def sessions(services: Services) -> Sessions:
    return Sessions(services.store, services.settings.web_session_hours)


def viewer(request: Request, services: ServicesDep, now: NowDep) -> Principal:
    """The principal of the browser's session; to the login page without one."""
    found = sessions(services).principal(request.cookies.get(SESSION_COOKIE), now)
    if found is None:
        raise LoginNeeded
    return found


Viewer = Annotated[Principal, Depends(viewer)]


def _day(text: str | None, site: Any, now: datetime) -> date:
    if not text:
        return now.astimezone(site.tz).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        message = N_("date must be a day as YYYY-MM-DD, got {value}")
        raise PageError(422, message, value=text) from None


def _site(services: Services, principal: Principal, name: str) -> Any:
    if not _SITE.match(name) or not may_read_site(principal, name):
        raise PageError(403, N_("this key may not see the site {site}"), site=name)
    try:
        return services.sites.latest(name)[0]
    except NotFound:
        raise PageError(404, N_("there is no site {site}"), site=name) from None


def _plan_id(text: str | None, field: str) -> str | None:
    if text is not None and not _PLAN_ID.match(text):
        raise PageError(422, N_("{field} must be a plan id, got {value}"), field=field, value=text)
    return text


def _shown(pages: Pages, site: Any, day: date, plan_id: str | None) -> Any:
    try:
        return pages.shown(site, day, plan_id)
    except NotFound:
        raise PageError(404, N_("the site {site} has no plan {plan}"), site=site.name,
                        plan=plan_id) from None


def _login_response(services: Services, key_id: str, now: datetime, secure: bool) -> Response:
    token = sessions(services).open(key_id, now)
    response = RedirectResponse("/", 303, headers=HEADERS)
    response.set_cookie(SESSION_COOKIE, token, max_age=sessions(services).max_age_s,
                        httponly=True, samesite="lax", secure=secure, path="/")
    return response


@router.get("/login")
def login_page(request: Request, services: ServicesDep, now: NowDep,
               token: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """The login form; with ``token`` (a login link) it logs in and leaves the URL."""
    if token is None:
        return render(request, "login.html")
    key_id = sessions(services).exchange(token, now)
    if key_id is None:
        return render(request, "login.html", status=401, error="link")
    return _login_response(services, key_id, now, request.url.scheme == "https")


@router.post("/login")
async def login(request: Request, services: ServicesDep, now: NowDep) -> Response:
    """Log in with an API key sent in the form's body (never in the URL)."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    key = (form.get("key") or [""])[0].strip()
    found = services.keys.authenticate(key) if key else None
    if found is None:
        return render(request, "login.html", status=401, error="key")
    return _login_response(services, found.key_id, now, request.url.scheme == "https")


@router.post("/logout")
def logout(request: Request, services: ServicesDep) -> Response:
    sessions(services).close(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", 303, headers=HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{lang}")
def switch_language(request: Request, lang: str,
                    next: Annotated[str, Query(max_length=500)] = "/") -> Response:
    """Remember ``lang`` for this browser and go back to ``next`` (a path of this site)."""
    if lang not in request.app.state.web.catalogues:
        raise PageError(404, N_("there is no language {value}"), value=lang)
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, 303, headers=HEADERS)
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


@router.get("/")
def sites_page(request: Request, services: ServicesDep, now: NowDep, who: Viewer) -> Response:
    counties = pages(request, services).overview(who, now)
    return render(request, "sites.html", counties=counties, now=now, who=who)


@router.get("/sites/{name}")
def day_page(request: Request, name: str, services: ServicesDep, now: NowDep, who: Viewer,
             date: str | None = None, plan: str | None = None) -> Response:
    site = _site(services, who, name)
    day = _day(date, site, now)
    book = pages(request, services)
    shown = _shown(book, site, day, _plan_id(plan, "plan"))
    svg, legend = chart.plan_svg(shown.site, shown.plan, local_for(request, site.currency)) \
        if shown else ("", [])
    return render(request, "day.html", currency=site.currency, site=site, day=day, who=who,
                  shown=shown, svg=svg, legend=legend, now=now,
                  versions=book.versions(site, day))


@router.get("/sites/{name}/words")
def words_page(request: Request, name: str, services: ServicesDep, now: NowDep, who: Viewer,
               date: str | None = None, plan: str | None = None) -> Response:
    site = _site(services, who, name)
    day = _day(date, site, now)
    shown = _shown(pages(request, services), site, day, _plan_id(plan, "plan"))
    local = local_for(request, site.currency)
    lines = words.lines(shown.explanation, local) if shown else []
    totals = words.totals_text(shown.explanation, local) if shown else []
    return render(request, "words.html", currency=site.currency, site=site, day=day, who=who,
                  shown=shown, lines=lines, totals=totals, now=now)


@router.get("/sites/{name}/compare")
def compare_page(request: Request, name: str, services: ServicesDep, now: NowDep, who: Viewer,
                 date: str | None = None, a: str | None = None,
                 b: str | None = None) -> Response:
    site = _site(services, who, name)
    day = _day(date, site, now)
    book = pages(request, services)
    versions = book.versions(site, day)
    ids = [v["plan_id"] for v in versions]
    # by default the day's newest plan (B) against the one before it (A)
    first = _plan_id(a, "a") or (ids[1] if len(ids) > 1 else ids[0] if ids else None)
    second = _plan_id(b, "b") or next((i for i in ids if i != first), None)
    local = local_for(request, site.currency)
    sides = []
    for plan_id in (first, second):
        shown = _shown(book, site, day, plan_id) if plan_id else None
        sides.append((shown, words.lines(shown.explanation, local) if shown else []))
    return render(request, "compare.html", currency=site.currency, site=site, day=day, who=who,
                  sides=sides, versions=versions, now=now)
