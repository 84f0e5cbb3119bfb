"""Tock's side of bench/fewshot.py: the request Tock Studio's pop-up sends, Utterly's bridge
served over HTTP, and Tock's real Gen AI orchestrator on a llama.cpp OpenAI-compatible
server. Bench code only: nothing here is imported by Utterly or its tests.

- `completion_body` is the body of `POST /completion/sentences` as Tock Studio's
  `CompletionService.generateSentences` builds it (tock-studio-side/bot/admin/server/src/main/
  kotlin/service/CompletionService.kt): the bot's LLM setting with the pop-up's temperature,
  the bot's prompt (Tock's `DefaultPrompt`, read from the web app's sources at run time), and
  `inputs` = locale, nb_sentences, the selected sentences and the three options. Nothing
  else: no title, no answer, no other FAQs.
- `BridgeServer` serves `utterly.tock_bridge.app.create_app` with uvicorn in a thread.
- `ModelServer` runs `python -m llama_cpp.server` on a GGUF file, behind `SeedProxy`, a
  pass-through that adds a `seed` to each chat request (Tock's OpenAI setting has no seed
  and LangChain's ChatOpenAI sends none: without it, llama-cpp-python draws each call's
  seed from a chain that depends on every call served before).
- `Orchestrator` runs Tock's orchestrator (../shared/tock/orchestrator.sh, its venv from
  scripts/tock-orchestrator-venv.sh) with its rate limiter off and its LLM timeout raised.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TOCK_DIR = Path(os.environ.get("UTTERLY_TOCK_DIR", ROOT.parent / "shared" / "tock"))
ENGINES_TS = (TOCK_DIR / "tock-studio-side" / "bot" / "admin" / "web" / "src" / "app"
              / "configuration" / "sentence-generation-settings" / "models"
              / "engines-configuration.ts")
VENV_SCRIPT = ROOT / "scripts" / "tock-orchestrator-venv.sh"
# Tock's orchestrator gives an LLM call 30 s (`llm_provider_timeout`), then answers error
# 1001; on a 2-core machine shared with other work a call can take longer. Raised here so
# that what is measured is the prompt, not the timeout; the bench reports how many calls
# took longer than Tock's 30 s.
ORCHESTRATOR_LLM_TIMEOUT_S = 600
TOCK_DEFAULT_LLM_TIMEOUT_S = 30
ORCHESTRATOR_ENV = {
    # LangChain's rate limiter is on by default at 0.1 request/s: each call would wait ~10 s
    "tock_gen_ai_orchestrator_llm_rate_limits": "false",
    "tock_gen_ai_orchestrator_llm_provider_timeout": str(ORCHESTRATOR_LLM_TIMEOUT_S),
    # shared/ stays as it was copied
    "PYTHONDONTWRITEBYTECODE": "1",
}
# Retrofit's Jackson converter
CONTENT_TYPE = "application/json; charset=UTF-8"


class CallFailed(Exception):
    """A Tock-shaped error (or no answer) from the bridge or Tock's orchestrator."""


# -- what Tock sends -------------------------------------------------------------------------

def default_prompt() -> str:
    """Tock's `DefaultPrompt` (the sentence-generation template a bot gets unless its admin
    edits it), from the web app's sources."""
    source = ENGINES_TS.read_text("utf-8")
    found = re.search(r"export const DefaultPrompt: string = `(.*?)`;", source, re.DOTALL)
    if found is None:
        raise SystemExit(f"Tock's DefaultPrompt not found in {ENGINES_TS}")
    # a TypeScript template literal: no ${...} and no escapes in this one
    if "${" in found.group(1) or "\\" in found.group(1):
        raise SystemExit("Tock's DefaultPrompt now has ${...} or escapes: read it properly")
    return found.group(1)


def completion_body(sentences: list[str], *, locale: str, nb_sentences: int,
                    temperature: float, base_url: str, model: str, template: str) -> dict:
    """The body of POST /completion/sentences, in the key order Jackson writes it, null
    fields left out (no observability setting, no reasoning effort). The LLM setting is an
    OpenAI one: the model server for Tock's orchestrator; the bridge in server mode reads
    only its temperature."""
    return {
        "llm_setting": {
            "api_key": {"secret": "sk-bench-not-a-key", "type": "Raw"},
            # Kotlin's BigDecimal-as-string (LLMSettingBase.temperature)
            "temperature": str(temperature),
            "model": model,
            "base_url": base_url,
            "provider": "OpenAI",
        },
        "prompt": {
            "formatter": "jinja2",
            "template": template,
            "inputs": {
                "locale": locale,
                "nb_sentences": nb_sentences,
                "sentences": sentences,
                "options": {"spelling_mistakes": False, "sms_language": False,
                            "abbreviated_language": False},
            },
        },
    }


async def post_completion(client: httpx.AsyncClient, url: str, body: dict) -> list[str]:
    """Tock's call; the sentences, or CallFailed with the Tock error's code and cause."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    try:
        answer = await client.post(url + "/completion/sentences", content=data,
                                   headers={"Content-Type": CONTENT_TYPE})
    except httpx.HTTPError as exc:
        raise CallFailed(f"{type(exc).__name__}: {exc}") from None
    if answer.status_code != 200:
        try:
            error = answer.json()
            info = error.get("info") or {}
            text = (f"HTTP {answer.status_code} code {error.get('code')} "
                    f"{info.get('error')}: {str(info.get('cause'))[:200]}")
        except ValueError:
            text = f"HTTP {answer.status_code}: {answer.text[:200]}"
        raise CallFailed(text)
    sentences = answer.json().get("sentences")
    if not isinstance(sentences, list):
        raise CallFailed(f"no sentences in {answer.text[:200]}")
    return [str(s) for s in sentences]


# -- versions, for the cache -----------------------------------------------------------------

def sha256_of(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()[:12]


def orchestrator_version() -> dict:
    """What decides what Tock's orchestrator does with a request: its pinned dependencies
    and its own code."""
    server = TOCK_DIR / "orchestrator-server" / "src"
    code = hashlib.sha256()
    for path in sorted(server.rglob("*.py")):
        code.update(str(path.relative_to(server)).encode() + b"\0" + path.read_bytes())
    return {"requirements": sha256_of((TOCK_DIR / "requirements.txt").read_bytes()),
            "code": code.hexdigest()[:12]}


def llama_cpp_version() -> str:
    import llama_cpp

    return llama_cpp.__version__


# -- servers ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThreadServer:
    """uvicorn serving an ASGI app on a free port of 127.0.0.1, in a daemon thread (its own
    event loop). The app's lifespan runs before `start` returns."""

    def __init__(self, app, name: str, startup_timeout_s: float = 600.0):
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                                    timeout_graceful_shutdown=5))
        self.startup_timeout_s = startup_timeout_s
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True, name=name)

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + self.startup_timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.thread.name} did not start")
            time.sleep(0.05)
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout=10)
        self.sock.close()


def bridge_server(config) -> ThreadServer:
    """Utterly's bridge as `utterly tock-bridge` serves it, for this configuration."""
    from utterly.tock_bridge.app import create_app

    return ThreadServer(create_app(config), name=f"tock-bridge-{config.prompt}")


class SeedProxy:
    """An ASGI pass-through to the model server that adds `"seed": <current seed>` to each
    chat request that has none, and keeps the last answer's text (what Tock's parser
    read). The bench sets `seed` before each call; calls are made one at a time."""

    def __init__(self, upstream: str, timeout_s: float):
        self.upstream = upstream
        self.timeout_s = timeout_s
        self.seed: int | None = None
        self.last_text: str | None = None
        self.calls = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        if scope["method"] == "POST" and path.endswith("/chat/completions") and body:
            request = json.loads(body)
            if request.get("seed") is None and self.seed is not None:
                request["seed"] = self.seed
            body = json.dumps(request).encode()
            self.calls += 1
        headers = {k.decode(): v.decode() for k, v in scope["headers"]
                   if k.decode().lower() not in ("host", "content-length", "connection",
                                                 "accept-encoding")}
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            answer = await client.request(
                scope["method"], self.upstream + path
                + (("?" + scope["query_string"].decode()) if scope["query_string"] else ""),
                content=body, headers=headers)
        if path.endswith("/chat/completions"):
            with contextlib.suppress(ValueError, KeyError, IndexError, TypeError):
                self.last_text = answer.json()["choices"][0]["message"]["content"]
        kept = [(k.encode(), v.encode()) for k, v in answer.headers.items()
                if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                     "content-encoding")]
        await send({"type": "http.response.start", "status": answer.status_code,
                    "headers": kept + [(b"content-length", str(len(answer.content)).encode())]})
        await send({"type": "http.response.body", "body": answer.content})


class Subprocess:
    """A server process started here, waited for until `ready_url` answers 200, stopped by
    its own pid (terminate, then kill)."""

    def __init__(self, args: list[str], ready_url: str, log_path: Path, *,
                 env: dict | None = None, cwd: str | None = None,
                 startup_timeout_s: float = 300.0):
        self.args, self.ready_url, self.log_path = args, ready_url, log_path
        self.env, self.cwd, self.startup_timeout_s = env, cwd, startup_timeout_s
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self.args, stdout=self._log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(self.env or {})}, cwd=self.cwd)
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.args[:3]} exited with {self.proc.returncode}; "
                                   f"see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.args[:3]} did not answer within "
                                   f"{self.startup_timeout_s:g} s; see {self.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.ready_url, timeout=2).status_code == 200:
                    return
            time.sleep(0.25)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        self._log.close()


class ModelServer:
    """llama-cpp-python's OpenAI-compatible server on `model_path` (n_ctx and threads as
    Utterly's local provider uses them), reached through a SeedProxy."""

    def __init__(self, model_path: Path, alias: str, log_dir: Path, *, n_ctx: int = 4096,
                 n_threads: int = 2, timeout_s: float = 1800.0):
        port = free_port()
        self.alias = alias
        self.process = Subprocess(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path),
             "--model_alias", alias, "--n_ctx", str(n_ctx), "--n_threads", str(n_threads),
             "--n_threads_batch", str(n_threads), "--host", "127.0.0.1", "--port", str(port),
             "--verbose", "False"],
            ready_url=f"http://127.0.0.1:{port}/v1/models", log_path=log_dir / "llama-server.log")
        self.proxy = SeedProxy(f"http://127.0.0.1:{port}", timeout_s)
        self.proxy_server = ThreadServer(self.proxy, name="seed-proxy")
        self.base_url = ""

    def start(self) -> str:
        self.process.start()
        self.base_url = self.proxy_server.start() + "/v1"
        return self.base_url

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.proxy_server.stop()
        self.process.stop()


class Orchestrator:
    """Tock's Gen AI orchestrator, unchanged, served by orchestrator.sh on a free port."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.process: Subprocess | None = None
        self.url = ""

    def start(self) -> str:
        done = subprocess.run(["bash", str(VENV_SCRIPT)], capture_output=True, text=True,
                              timeout=1800)
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            raise RuntimeError(f"{VENV_SCRIPT.name} failed: {done.stderr.strip()[-800:]}")
        venv = lines[-1]
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        # orchestrator.sh execs uvicorn: terminating the process stops the server
        self.process = Subprocess(["bash", str(TOCK_DIR / "orchestrator.sh"), "serve", venv,
                                   str(port)], ready_url=self.url + "/health-check",
                                  log_path=self.log_dir / "tock-orchestrator.log",
                                  env=ORCHESTRATOR_ENV)
        self.process.start()
        return self.url

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
