"""Ollama, through the official `ollama` SDK (its native /api/chat protocol)."""

from __future__ import annotations

import asyncio
import os
import time

from ..errors import ErrorCode, ProviderError
from ..outbound import async_transport
from .base import BASE_URL, MODEL, CheckResult, Completion, Message, ProviderConfig, ProviderInfo
from .errors_map import (
    ForeignAnswer,
    Target,
    from_ollama,
    invalid_response,
    is_ollama_error,
    model_not_pulled,
    status_class,
)
from .retry import call_classified

DEFAULT_URL = "http://127.0.0.1:11434"
DEFAULT_MODEL = "tinyllama"


def _base_url(config: ProviderConfig) -> str:
    url = config.base_url or (config.read_env and os.environ.get("OLLAMA_HOST")) or DEFAULT_URL
    if "://" not in url:
        url = "http://" + url
    return url.rstrip("/")


async def _vendor_errors_only(response) -> None:
    if response.status_code >= 400:
        await response.aread()
        if not is_ollama_error(response.content):
            raise ForeignAnswer(response.status_code, response.headers)


def same_model(wanted: str, available: str) -> bool:
    """`tinyllama` names `tinyllama:latest`; an explicit tag must match exactly."""
    if wanted == available:
        return True
    if ":" not in wanted:
        return available == f"{wanted}:latest"
    return False


class OllamaProvider:
    name = "ollama"
    default_model = DEFAULT_MODEL
    # The retry layer's sleep and longest accepted Retry-After; tests replace the sleep.
    _sleep = staticmethod(asyncio.sleep)
    max_wait_s = 30.0

    def __init__(self, config: ProviderConfig):
        import ollama

        self.config = config
        self.model = config.model or self.default_model
        self.base_url = _base_url(config)
        self.target = Target(provider=self.name, model=self.model, url=self.base_url,
                             timeout_s=config.timeout_s, api_key=config.api_key,
                             quote=config.quote_server, outbound=config.outbound)
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else None
        self._client = ollama.AsyncClient(host=self.base_url, timeout=config.timeout_s,
                                          headers=headers, **self._http_options())

    def _http_options(self) -> dict:
        """httpx options for the SDK's client. An error answer not in Ollama's format stops
        at the response hook, where its body can still be told apart: only its status may
        be reported. A config that must not use the server's environment gets its own
        Authorization header set just before sending (the SDK adds OLLAMA_API_KEY to every
        request that has none), and its outbound policy."""
        config = self.config
        options: dict = {"event_hooks": {"request": [], "response": [_vendor_errors_only]}}
        if config.outbound is not None:
            options.update(transport=async_transport(config.outbound), trust_env=False,
                           follow_redirects=False)
        if not config.read_env:
            authorization = f"Bearer {config.api_key}" if config.api_key else None

            async def pin_authorization(request) -> None:
                request.headers.pop("Authorization", None)
                if authorization:
                    request.headers["Authorization"] = authorization

            options["event_hooks"]["request"].append(pin_authorization)
        return options

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    async def _call(self, fn):
        return await call_classified(fn, from_ollama, self.target,
                                     max_retries=self.config.max_retries, provider=self.name,
                                     sleep=self._sleep, max_wait_s=self.max_wait_s,
                                     gate=self.config.gate)

    async def complete(self, messages: list[Message], *, temperature: float, max_tokens: int,
                       json_schema: dict | None = None, seed: int | None = None) -> Completion:
        options: dict = {"temperature": temperature, "num_predict": max_tokens}
        if seed is not None:
            options["seed"] = seed

        async def chat():
            return await self._client.chat(model=self.model, messages=messages,
                                           format=json_schema or None, options=options)

        response = await self._call(chat)
        text = response.message.content if response.message is not None else None
        if text is None:
            raise invalid_response(self.target, "the reply has no message content")
        return Completion(text=text, model=response.model or self.model,
                          input_tokens=response.prompt_eval_count or 0,
                          output_tokens=response.eval_count or 0,
                          structured=bool(json_schema), finish_reason=response.done_reason)

    async def list_models(self) -> list[str]:
        listing = await self._call(self._client.list)
        return [m.model for m in listing.models if m.model]

    async def check(self) -> CheckResult:
        import httpx

        started = time.monotonic()

        async def root():
            options = self._http_options()
            options.pop("event_hooks")  # this request carries no credentials; 404 is told
            async with httpx.AsyncClient(timeout=self.config.timeout_s, **options) as http:
                return await http.get(self.base_url + "/")

        response = await self._call(root)
        if response.status_code != 200 or "Ollama is running" not in response.text:
            raise ProviderError(
                ErrorCode.INVALID_RESPONSE,
                f"{self.base_url} answered but is not an Ollama server "
                f"({status_class(response.status_code)})",
                hint="check the URL (option --base-url or the env var OLLAMA_HOST)",
                provider=self.name)
        models = await self.list_models()
        found = next((m for m in models if same_model(self.model, m)), None)
        if found is None:
            # model_not_pulled quotes the names only when the config lets the server be quoted
            raise model_not_pulled(self.target, "pulled models: " + (", ".join(models) or "none"))
        # `found` is the model asked for, or it with `:latest`: our words, not the server's
        listed = {"models": models} if self.config.quote_server else {}
        return CheckResult(ok=True, provider=self.name, model=self.model,
                           message=f"Ollama at {self.base_url} serves {found}",
                           details={"base_url": self.base_url, "model": found, **listed,
                                    "latency_s": round(time.monotonic() - started, 3)})

    async def aclose(self) -> None:
        await self._client.close()


INFO = ProviderInfo(name="ollama", label="Ollama", create=OllamaProvider,
                    fields=(MODEL, BASE_URL), required=("model",), concurrency=2,
                    models=(DEFAULT_MODEL, "llama3.2", "mistral"), default_base_url=DEFAULT_URL,
                    free=True)
