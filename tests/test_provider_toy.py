"""A provider is one module plus one registry line: this file is a toy provider's module,
and the test, in a fresh interpreter, adds it to the registry before anything else reads
it, then finds it in the CLI, the Studio's API (its own settings stored, its secret
encrypted and never shown back) and the settings page, in English and in French."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from utterly.providers.base import MODEL, CheckResult, ProviderField, ProviderInfo

ROOT = Path(__file__).resolve().parent.parent


class ToyProvider:
    """Answers its check with its own settings, so that a test sees them arrive."""

    name = "toy"

    def __init__(self, config):
        self.config = config
        self.model = config.model or "toy-1"

    async def check(self) -> CheckResult:
        flavour = self.config.options.get("toy_flavour")
        has_secret = bool(self.config.options.get("toy_token"))
        return CheckResult(ok=True, provider=self.name, model=self.model,
                           message=f"flavour {flavour}, token {has_secret}")

    async def aclose(self) -> None:
        return None


FLAVOUR = ProviderField("toy_flavour", "Toy flavour", "Parfum du jouet", env="TOY_FLAVOUR",
                        help="The toy's flavour", hint="name a flavour", example="mint")
TOKEN = ProviderField("toy_token", "Toy token", "Jeton du jouet", kind="secret",
                      help="The toy's token", hint="paste the toy's token")
INFO = ProviderInfo(name="toy", label="Toy", label_fr="Jouet", create=ToyProvider,
                    fields=(MODEL, FLAVOUR, TOKEN), required=("toy_flavour",), free=True)

SECRET = "toy-secret-0123456789"

# Run in a fresh interpreter: the registry line first, then the shells read the registry.
SCRIPT = f"""
import json, sys
from pathlib import Path
from tests.test_provider_toy import INFO
from utterly.providers import PROVIDERS
PROVIDERS[INFO.name] = INFO

from click.testing import CliRunner
from fastapi.testclient import TestClient
from utterly.cli import main
from utterly.studio.app import create_app
from utterly.studio.config import StudioConfig
from utterly.studio.models import (Bot, Membership, Namespace, SentenceGenerationSettings,
                                   User)
from utterly.studio.passwords import hash_password
from utterly.prompt import default_template, template_version

out = {{}}
runner = CliRunner()
out["help"] = runner.invoke(main, ["providers", "check", "--help"]).output
out["check"] = runner.invoke(main, ["providers", "check", "--provider", "toy",
                                    "--toy-flavour", "mint", "--json"]).output

app = create_app(StudioConfig(data_dir=Path(sys.argv[1]), database_url="sqlite:///" + sys.argv[1]
                              + "/studio.db"))
with TestClient(app, base_url="https://testserver") as client:
    with app.state.studio.sessions() as session, session.begin():
        namespace = Namespace(name="acme")
        session.add(namespace)
        session.flush()
        user = User(username="ada", password_hash=hash_password("a long password 123"))
        bot = Bot(namespace_id=namespace.id, name="bot", locales=["en"])
        session.add_all([user, bot])
        session.flush()
        session.add(Membership(user_id=user.id, namespace_id=namespace.id, role="admin"))
        session.add(SentenceGenerationSettings(bot_id=bot.id, prompt_version=template_version(default_template())))
        bot_id = bot.id
    login = {{"username": "ada", "password": "a long password 123"}}
    token = client.post("/api/auth/token", json=login).json()["access_token"]
    auth = {{"Authorization": "Bearer " + token}}
    url = f"/api/bots/{{bot_id}}/settings/sentence-generation"
    out["providers"] = client.get("/api/providers", headers=auth).json()
    out["missing"] = client.put(url, json={{"provider": "toy"}}, headers=auth).json()
    body = {{"provider": "toy", "toy_flavour": "mint", "toy_token": "{SECRET}"}}
    saved = client.put(url, json=body, headers=auth)
    out["saved"] = saved.json()
    out["check_stored"] = client.post(url + "/check", headers=auth).json()
    with app.state.studio.sessions() as session:
        out["stored"] = session.get(SentenceGenerationSettings, bot_id).provider_options
    client.post("/api/auth/login", json=login)
    page = f"/bots/{{bot_id}}/settings/sentence-generation"
    out["page_en"] = client.get(page, headers={{"Accept-Language": "en"}}).text
    out["page_fr"] = client.get(page, headers={{"Accept-Language": "fr"}}).text
print(json.dumps(out))
"""


def test_a_toy_provider_in_one_file_reaches_the_cli_the_api_and_the_page(tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])

    assert "--toy-flavour" in out["help"] and "TOY_FLAVOUR" in out["help"]
    assert "--toy-token" in out["help"]
    assert "flavour mint" in out["check"]

    toy = next(p for p in out["providers"] if p["name"] == "toy")
    assert (toy["label"], toy["label_fr"], toy["fields"], toy["free"]) == \
        ("Toy", "Jouet", ["model", "toy_flavour", "toy_token"], True)
    assert out["missing"]["field"] == "toy_flavour"
    assert out["missing"]["hint"] == "name a flavour"

    assert out["saved"]["toy_flavour"] == "mint"
    assert out["saved"]["toy_token"] and SECRET not in json.dumps(out["saved"])
    assert out["check_stored"]["message"] == "flavour mint, token True"
    assert out["stored"]["toy_flavour"] == "mint"
    assert SECRET not in json.dumps(out["stored"]), "the secret is stored encrypted"

    for page, words in ((out["page_en"], ("Toy", "Toy flavour", "Toy token")),
                        (out["page_fr"], ("Jouet", "Parfum du jouet", "Jeton du jouet"))):
        assert 'value="toy"' in page and 'data-field="toy_flavour"' in page
        assert 'data-field="toy_token" data-secret' in page
        for word in words:
            assert f">{word}<" in page, word
