"""Browser tests of the Studio pages: a real `utterly serve` subprocess on a temporary SQLite
database, driven by the system Chromium through Playwright's sync API.

One server and one browser per session; each test gets a fresh bot (so its settings, FAQs
and history start empty) and a fresh browser context (no cookies). Screenshots go to
<output_dir>/screenshots/<test name>-<step>.png.
"""

from __future__ import annotations

import itertools
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.servers.run import free_port, python_module_args, run_subprocess
from utterly.studio.web.i18n import MESSAGES

PASSWORD = "correct-horse-1"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking"]
TEST_MODEL = "smollm2-135m"
# generation with the real local model (three options on) can take ~30 s per attempt
GENERATION_TIMEOUT_MS = 300_000

expect.set_options(timeout=15_000)


@dataclass
class Users:
    """Namespace `default`: ada (admin), bob (bot_user), vic (viewer). Namespace `globex`:
    gus (admin) and his bot, foreign to the others."""

    namespace: int
    foreign_bot: int
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def api(self, username: str) -> httpx.Client:
        return self.clients[username]


@dataclass
class StudioServer:
    url: str
    data_dir: Path
    users: Users


def _cli(*args: str, data_dir: Path, stdin: str | None = None) -> None:
    done = subprocess.run(python_module_args("utterly.cli", *args, "--data-dir", str(data_dir)),
                          input=stdin, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def _client(url: str, username: str) -> httpx.Client:
    response = httpx.post(f"{url}/api/auth/token",
                          json={"username": username, "password": PASSWORD}, timeout=30)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                        timeout=300)


@pytest.fixture(scope="session")
def studio_server(tmp_path_factory, output_dir) -> Iterator[StudioServer]:
    data_dir = tmp_path_factory.mktemp("web-studio")
    # The first admin of each namespace comes from the CLI, before the server starts.
    _cli("users", "create", "ada", "--admin", "--site-admin", "--password-stdin",
         data_dir=data_dir, stdin=PASSWORD + "\n")
    _cli("users", "create", "gus", "--admin", "--namespace", "globex", "--password-stdin",
         data_dir=data_dir, stdin=PASSWORD + "\n")
    port = free_port()
    log = output_dir / "web-studio-server.log"
    args = python_module_args("utterly.cli", "serve", "--data-dir", str(data_dir),
                              "--port", str(port))
    with run_subprocess(args, port=port, ready_path="/api/health", log_path=str(log)) as url:
        ada, gus = _client(url, "ada"), _client(url, "gus")
        namespace = next(ns["id"] for ns in ada.get("/api/namespaces").json()
                         if ns["name"] == "default")
        for username, role in (("bob", "bot_user"), ("vic", "viewer")):
            account = ada.post("/api/users", json={"username": username, "password": PASSWORD})
            assert account.status_code == 201, account.text
            added = ada.post(f"/api/namespaces/{namespace}/members",
                             json={"username": username, "role": role})
            assert added.status_code == 201, added.text
        foreign = gus.post("/api/bots", json={"name": "Globex bot", "locales": ["fr"]})
        assert foreign.status_code == 201, foreign.text
        users = Users(namespace=namespace, foreign_bot=foreign.json()["id"],
                      clients={"ada": ada, "gus": gus, "bob": _client(url, "bob"),
                               "vic": _client(url, "vic")})
        try:
            yield StudioServer(url=url, data_dir=data_dir, users=users)
        finally:
            for client in users.clients.values():
                client.close()


_bot_numbers = itertools.count(1)


@pytest.fixture
def bot(studio_server) -> int:
    """A fresh French bot in namespace `default` (ada's), generation disabled."""
    ada = studio_server.users.api("ada")
    created = ada.post("/api/bots", json={"namespace_id": studio_server.users.namespace,
                                          "name": f"Web bot {next(_bot_numbers)}",
                                          "locales": ["fr"]})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def enable_generation(api: httpx.Client, bot: int, **settings) -> None:
    """Turn generation on for `bot` with these settings; the rest stays as it is (the
    default prompt template, temperature...). The Studio checks the provider first."""
    url = f"/api/bots/{bot}/settings/sentence-generation"
    current = api.get(url).json()
    body = {"enabled": True, "temperature": current["temperature"],
            "nb_sentences": current["nb_sentences"],
            "prompt_template": current["prompt_template"], **settings}
    saved = api.put(url, json=body)
    assert saved.status_code == 200, saved.text


def english_bot(studio_server, vendor_url: str, faqs: dict[str, list[str]],
                **settings) -> tuple[int, dict[str, int]]:
    """A fresh English bot (ada's) generating through an OpenAI-compatible vendor at
    `vendor_url` with these settings, and its FAQs with their sentences: (bot, {title: id})."""
    ada = studio_server.users.api("ada")
    created = ada.post("/api/bots", json={"namespace_id": studio_server.users.namespace,
                                          "name": f"English bot {next(_bot_numbers)}",
                                          "locales": ["en"]})
    assert created.status_code == 201, created.text
    bot = created.json()["id"]
    enable_generation(ada, bot, provider="openai-compatible", model="gpt-4o-mini",
                      base_url=vendor_url, **settings)
    ids = {}
    for title, sentences in faqs.items():
        made = ada.post(f"/api/bots/{bot}/faqs", json={"title": title, "locale": "en"})
        assert made.status_code == 201, made.text
        ids[title] = made.json()["id"]
        for sentence in sentences:
            added = ada.post(f"/api/bots/{bot}/faqs/{ids[title]}/sentences",
                             json={"text": sentence})
            assert added.status_code == 201, added.text
    return bot, ids


PARCEL, TRACK = "where is my parcel", "track my order"  # what the `ok` vendor answers


@dataclass
class Shop:
    """An English bot of ada's with two FAQs, Orders ("Where is my order?", "Track my order
    please") and Delivery ("When will it arrive?"), generating 2 sentences through the faulty
    server's OpenAI-compatible `ok` vendor: a real HTTP vendor that always answers PARCEL and
    TRACK, fast and exact. The runs its history lists and its review shows come from it."""

    bot: int
    orders: int
    delivery: int
    users: Users
    vendor_url: str

    @property
    def history(self) -> str:
        return f"/bots/{self.bot}/history"

    def api(self, username: str) -> httpx.Client:
        return self.users.api(username)

    def add_sentence(self, faq_id: int, text: str) -> int:
        added = self.api("bob").post(f"/api/bots/{self.bot}/faqs/{faq_id}/sentences",
                                     json={"text": text})
        assert added.status_code == 201, added.text
        return added.json()["id"]

    def generate(self, username: str, faq_id: int, **body) -> dict:
        response = self.api(username).post(f"/api/bots/{self.bot}/faqs/{faq_id}/generate",
                                           json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def run(self, run_id: int) -> dict:
        response = self.api("vic").get(f"/api/bots/{self.bot}/generation-runs/{run_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def runs(self, **params) -> list[int]:
        response = self.api("vic").get(f"/api/bots/{self.bot}/generation-runs",
                                       params={"limit": 200, **params})
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]


@pytest.fixture
def shop(studio_server, faulty_server) -> Shop:
    vendor_url = f"{faulty_server.url}/ok/v1"
    bot, faqs = english_bot(studio_server, vendor_url,
                            {"Orders": ["Where is my order?", "Track my order please"],
                             "Delivery": ["When will it arrive?"]},
                            temperature=0.5, nb_sentences=2)
    return Shop(bot=bot, orders=faqs["Orders"], delivery=faqs["Delivery"],
                users=studio_server.users, vendor_url=vendor_url)


def open_review(page: Page, run_id: int, lang: str = "fr"):
    """On the history page shown in `lang`, click Review on the run's row: its dialog."""
    words = MESSAGES[lang]
    row = page.locator(f'#runs tbody tr[data-run-id="{run_id}"]')
    row.get_by_role("button", name=f"{words['history.review']} #{run_id}").click()
    return page.get_by_role("dialog", name=words["review.title"].format(id=run_id))


def import_one_generated(studio_server, bot: int, faq: int) -> str:
    """Generate on the FAQ as bob and import the run's first new candidate: its text."""
    bob = studio_server.users.api("bob")
    run = bob.post(f"/api/bots/{bot}/faqs/{faq}/generate", json={})
    assert run.status_code == 200, run.text
    fresh = [c["text"] for c in run.json()["candidates"] if c["status"] == "new"]
    assert fresh, run.json()
    imported = bob.post(f"/api/bots/{bot}/faqs/{faq}/import",
                        json={"run_id": run.json()["run_id"], "texts": fresh[:1]})
    assert imported.status_code == 200, imported.text
    return fresh[0]


def open_generate(page: Page, bot: int, faq: int, *, user: str = "ada", lang: str = "fr"):
    """The FAQ's page, as `user` in `lang`, with its generate dialog open and ready."""
    login(page, user, next_path=f"/bots/{bot}/faqs/{faq}")
    switch(page, lang)
    page.locator("#open-generate").click()
    dialog = page.locator("#generate-dialog")
    expect(dialog.locator("#gen-run")).to_be_enabled()
    return dialog


@pytest.fixture
def generation_enabled(studio_server, bot) -> int:
    """The fresh bot generates with the real local SmolLM2 model, 3 sentences."""
    enable_generation(studio_server.users.api("ada"), bot, provider="local", model=TEST_MODEL,
                      nb_sentences=3)
    return bot


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class RecordingContext:
    """A fresh browser context on the server's URL that records every request's URL."""

    def __init__(self, context: BrowserContext):
        self.context = context
        self.requests: list[str] = []
        context.on("request", lambda request: self.requests.append(request.url))


@pytest.fixture
def recording(browser, studio_server) -> Iterator[RecordingContext]:
    context = browser.new_context(base_url=studio_server.url, locale="en-US",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    try:
        yield RecordingContext(context)
    finally:
        context.close()


@pytest.fixture
def page(recording) -> Page:
    return recording.context.new_page()


@pytest.fixture
def shot(request, output_dir):
    """shot(page, "step") saves screenshots/<test name>-<step>.png (full page)."""
    folder = output_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def take(page: Page, step: str) -> Path:
        path = folder / f"{name}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def login(page: Page, username: str, password: str = PASSWORD, next_path: str = "/") -> None:
    """Log in through the login form and wait for the page it leads to."""
    page.goto(f"/login?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def switch(page: Page, code: str) -> None:
    """Click the language link (EN / FR) in the top bar."""
    page.locator("nav.lang").get_by_role("link", name=code.upper(), exact=True).click()


def generate(dialog, *, tries: int = 3, need_new: bool = True, on_progress=None) -> int:
    """Click GENERATE in the open dialog, see the progress, wait for the results and return
    how many new (selectable) candidates came back. The small local model sometimes keeps
    nothing, or a busy machine makes it time out: like a person would, click Regenerate (or
    GENERATE again after the error) up to `tries` times."""
    results = dialog.locator("#gen-results")
    fresh = dialog.locator('#gen-candidates li[data-status="new"]')
    for attempt in range(tries):
        if results.is_visible():
            dialog.get_by_role("button", name="Regenerate").click()
        else:
            dialog.locator("#gen-run").click()
        expect(dialog.locator("#gen-progress")).to_be_visible()
        expect(dialog.locator("#gen-progress-text")).to_contain_text("Generating…")
        if on_progress and attempt == 0:
            on_progress()
        expect(dialog.locator("#gen-results:visible, #gen-options-error:visible").first
               ).to_be_visible(timeout=GENERATION_TIMEOUT_MS)
        if results.is_visible() and (fresh.count() or not need_new):
            return fresh.count()
    expect(results).to_be_visible()  # else fail on the error shown
    return fresh.count()


@dataclass
class FaqRef:
    bot: int
    id: int
    title: str
    sentence: str

    @property
    def path(self) -> str:
        return f"/bots/{self.bot}/faqs/{self.id}"


@pytest.fixture
def faq(studio_server, bot) -> FaqRef:
    """An FAQ of the fresh bot with one human sentence and an answer (made by ada)."""
    ada = studio_server.users.api("ada")
    title, sentence = "Mot de passe", "Comment réinitialiser mon mot de passe ?"
    created = ada.post(f"/api/bots/{bot}/faqs",
                       json={"title": title, "answer": "Cliquez sur « Mot de passe oublié »."})
    assert created.status_code == 201, created.text
    faq_id = created.json()["id"]
    added = ada.post(f"/api/bots/{bot}/faqs/{faq_id}/sentences", json={"text": sentence})
    assert added.status_code == 201, added.text
    return FaqRef(bot=bot, id=faq_id, title=title, sentence=sentence)
