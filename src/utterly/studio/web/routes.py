"""Page routes. Each checks the session and the role, then renders a shell that app.js and
the page's own script (static/) fill from the JSON API."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from ...providers import PROVIDERS, setting_fields
from ...providers.base import COMMON_FIELDS
from ...sentence_count import MAX_SENTENCES
from ..access import Actor, bot_for, faq_for
from ..api.deps import cookie_actor, state
from ..errors import Forbidden, NotFound
from ..services import accounts, bots, generation
from .i18n import LANGUAGES, MESSAGES, pick_language, translator

HERE = Path(__file__).parent
LANG_COOKIE = "utterly_lang"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["MAX_SENTENCES"] = MAX_SENTENCES
router = APIRouter(include_in_schema=False)


def _lang(request: Request) -> str:
    return pick_language(request.cookies.get(LANG_COOKIE),
                         request.headers.get("Accept-Language"))


def _render(request: Request, template: str, page: str, status: int = 200, **context):
    lang = _lang(request)
    context.update(request=request, page=page, lang=lang, languages=LANGUAGES,
                   t=translator(lang), messages_json=json.dumps(MESSAGES[lang]))
    return templates.TemplateResponse(request, template, context, status_code=status)


def safe_next(target: str) -> str:
    """`target` if it is a path on this site, else "/". Browsers read `\\` as `/` and drop
    tabs and newlines, so `/\\evil.example` or `/<tab>/evil.example` would leave the site
    as surely as `//evil.example`."""
    if (not target.startswith("/") or "\\" in target
            or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in target)):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return "/"
    return target


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def _bot_page(request: Request, bot_id: int, template: str, page: str, role: str = "viewer",
              faq_id: int | None = None, more=None, **context):
    """`more(session, actor, bot_id)`, when given, adds to the context once access is
    checked."""
    who = cookie_actor(request)
    if who is None:
        return _login_redirect(request)
    with state(request).sessions() as session:
        try:
            if faq_id is None:
                bot, faq = bot_for(session, who, bot_id, role), None
            else:
                bot, faq = faq_for(session, who, bot_id, faq_id, role)
        except NotFound:
            return _error(request, who, 404, "error.not_found")
        except Forbidden:
            return _error(request, who, 403, "error.forbidden", role=role)
        my_role = [r for ns, r in accounts.memberships(session, who)
                   if ns.id == bot.namespace_id][0]
        if more is not None:
            context.update(more(session, who, bot.id))
        return _render(request, template, page, user=who.username, role=my_role,
                       bot={"id": bot.id, "name": bot.name, "locales": bot.locales},
                       faq={"id": faq.id, "title": faq.title} if faq else None, **context)


def _error(request: Request, who: Actor | None, status: int, key: str, **values):
    return _render(request, "error.html", "error", status=status,
                   user=who.username if who else None, role=None, bot=None,
                   message_key=key, message_values=values)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/"):
    return _render(request, "login.html", "login", user=None, role=None, bot=None,
                   next=safe_next(next))


@router.get("/", response_class=HTMLResponse)
def bots_page(request: Request):
    who = cookie_actor(request)
    if who is None:
        return _login_redirect(request)
    with state(request).sessions() as session:
        namespaces = [{"id": ns.id, "name": ns.name, "role": role, "bots": []}
                      for ns, role in accounts.memberships(session, who)]
        by_id = {ns["id"]: ns for ns in namespaces}
        for bot in bots.list_bots(session, who):
            by_id[bot.namespace_id]["bots"].append({"id": bot.id, "name": bot.name,
                                                    "locales": bot.locales})
    return _render(request, "bots.html", "bots", user=who.username, role=None, bot=None,
                   namespaces=namespaces)


@router.get("/bots/{bot_id}")
def bot_home(bot_id: int):
    return RedirectResponse(f"/bots/{bot_id}/faqs", status_code=303)


@router.get("/bots/{bot_id}/faqs", response_class=HTMLResponse)
def faqs_page(request: Request, bot_id: int):
    return _bot_page(request, bot_id, "faqs.html", "faqs")


@router.get("/bots/{bot_id}/faqs/{faq_id}", response_class=HTMLResponse)
def faq_page(request: Request, bot_id: int, faq_id: int):
    return _bot_page(request, bot_id, "faq.html", "faq", faq_id=faq_id)


@router.get("/bots/{bot_id}/settings/sentence-generation", response_class=HTMLResponse)
def generation_settings_page(request: Request, bot_id: int):
    return _bot_page(request, bot_id, "settings_generation.html", "settings-generation",
                     role="admin", providers=list(PROVIDERS),
                     provider_options=[spec for spec in setting_fields()
                                       if spec not in COMMON_FIELDS])


@router.get("/bots/{bot_id}/settings/observability", response_class=HTMLResponse)
def observability_settings_page(request: Request, bot_id: int):
    return _bot_page(request, bot_id, "settings_observability.html", "settings-observability",
                     role="admin")


@router.get("/bots/{bot_id}/history", response_class=HTMLResponse)
def history_page(request: Request, bot_id: int):
    # The filters' choices are written into the page: no request to wait for before they
    # can be used.
    return _bot_page(request, bot_id, "history.html", "history",
                     more=lambda session, who, bot: {
                         "filters": generation.history_filters(session, who, bot)})


@router.get("/bots/{bot_id}/nlu", response_class=HTMLResponse)
def nlu_page(request: Request, bot_id: int):
    return _bot_page(request, bot_id, "nlu.html", "nlu")


@router.get("/lang/{code}")
def switch_language(code: str, next: str = "/"):
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax")
    return response
