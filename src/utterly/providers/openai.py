"""OpenAI and OpenAI-compatible servers (llama.cpp, vLLM, LM Studio…) through the `openai` SDK.

The SDK's own retries are off (max_retries=0): `call_with_retries` decides what is worth
retrying. Structured output is asked for as a strict JSON schema; a server that rejects that
gets llama.cpp's `json_object` + `schema` form next, then no response_format at all, and the
provider remembers what worked.
"""

from __future__ import annotations

import asyncio
import os
import time

from ..errors import ErrorCode, ProviderError
from ..outbound import async_transport2
from .base import (
    API_KEY,
    BASE_URL,
    MODEL,
    CheckResult,
    Completion,
    Message,
    ProviderConfig,
    ProviderInfo,
)
from .errors_map import Target, from_openai, invalid_response
from .retry import call_classified

DEFAULT_MODEL = "gpt-4o-mini"
OPENAI_URL = "https://api.openai.com/v1"
# A key for OpenAI-compatible servers that want none: the SDK insists on some key.
PLACEHOLDER_KEY = "not-needed"

# What we ask for, in order of preference, when a JSON schema is given.
FORMAT_MODES = ("json_schema", "json_object", "none")


def http_client_options(config: ProviderConfig) -> dict:
    """The SDK's HTTP client for a config with an outbound policy: connections checked by
    the policy, no proxy or netrc from the environment, no redirects (a redirect could
    carry the key elsewhere)."""
    if config.outbound is None:
        return {}
    import openai

    return {"http_client": openai.DefaultAsyncHttpxClient(
        transport=async_transport2(config.outbound), trust_env=False, follow_redirects=False)}


def forget_environment(client) -> None:
    """Undo what the SDK took from the environment for the arguments it was not given:
    OPENAI_ORG_ID, OPENAI_PROJECT_ID, OPENAI_ADMIN_KEY, OPENAI_WEBHOOK_SECRET and
    OPENAI_CUSTOM_HEADERS (which may hold an Authorization header) would otherwise be sent
    to whatever URL the settings name."""
    client.organization = None
    client.project = None
    client.admin_api_key = None
    client.webhook_secret = None
    client._custom_headers = {}
    client._ambient_authorizations = frozenset()


def _response_format(mode: str, schema: dict) -> dict | None:
    if mode == "json_schema":
        return {"type": "json_schema",
                "json_schema": {"name": "sentences", "schema": schema, "strict": True}}
    if mode == "json_object":
        return {"type": "json_object", "schema": schema}
    return None


class OpenAIProvider:
    name = "openai"
    default_model = DEFAULT_MODEL
    key_env = "OPENAI_API_KEY"
    # The retry layer's sleep and longest accepted Retry-After; tests replace the sleep.
    _sleep = staticmethod(asyncio.sleep)
    max_wait_s = 30.0

    def __init__(self, config: ProviderConfig):
        self.config = config
        self._format_mode = 0  # index into FORMAT_MODES; moves on when a server says no
        self._max_tokens_param = "max_tokens"
        self._setup()

    # --- construction (overridden by Azure) -----------------------------------------------

    def _setup(self) -> None:
        import openai

        config = self.config
        env = os.environ if config.read_env else {}
        self.model = config.model or self.default_model
        self.base_url = (config.base_url or env.get("OPENAI_BASE_URL") or "").rstrip("/")
        api_key = config.api_key or env.get(self.key_env)
        if not api_key:
            if not self.base_url:
                raise ProviderError(
                    ErrorCode.CONFIGURATION, "no API key for OpenAI",
                    hint=f"give one with the option --api-key or the env var {self.key_env}; "
                         "for an OpenAI-compatible server without keys, give its --base-url",
                    provider=self.name)
            api_key = PLACEHOLDER_KEY
        self._api_key = api_key
        self.target = Target(provider=self.name, model=self.model,
                             url=self.base_url or OPENAI_URL, timeout_s=config.timeout_s,
                             api_key=api_key, key_env=self.key_env,
                             quote=config.quote_server, outbound=config.outbound)
        self._client = openai.AsyncOpenAI(api_key=api_key, base_url=self.base_url or OPENAI_URL,
                                          timeout=config.timeout_s, max_retries=0,
                                          **http_client_options(config))
        if not config.read_env:
            forget_environment(self._client)

    @property
    def _model_param(self) -> str:
        return self.model

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, url={self.target.url!r})"

    # --- calls ----------------------------------------------------------------------------

    async def _call(self, fn):
        return await call_classified(fn, from_openai, self.target,
                                     max_retries=self.config.max_retries, provider=self.name,
                                     sleep=self._sleep, max_wait_s=self.max_wait_s,
                                     gate=self.config.gate)

    async def _create(self, messages, temperature, max_tokens, json_schema, seed):
        """One chat completion, stepping down the response formats the server refuses."""
        import openai

        while True:
            kwargs: dict = {"model": self._model_param, "messages": messages,
                            "temperature": temperature, self._max_tokens_param: max_tokens}
            if seed is not None:
                kwargs["seed"] = seed
            if self.config.reasoning_effort:
                kwargs["reasoning_effort"] = self.config.reasoning_effort
            mode = FORMAT_MODES[self._format_mode] if json_schema else "none"
            response_format = _response_format(mode, json_schema) if json_schema else None
            if response_format is not None:
                kwargs["response_format"] = response_format
            try:
                return await self._client.chat.completions.create(**kwargs), mode
            except openai.APIStatusError as exc:
                if exc.status_code not in (400, 422, 500):
                    raise
                text = f"{exc} {exc.body}".lower()
                if (self._max_tokens_param == "max_tokens"
                        and "max_completion_tokens" in text):
                    self._max_tokens_param = "max_completion_tokens"
                    continue
                error = from_openai(exc, self.target)
                # A refused response_format: 400/422 from most servers, 500 from
                # llama-cpp-python's server (its request validation errors become 500s).
                refused = (error.code == ErrorCode.BAD_REQUEST
                           or (exc.status_code == 500 and "response_format" in text))
                if (response_format is not None and refused
                        and self._format_mode < len(FORMAT_MODES) - 1):
                    self._format_mode += 1  # remembered for the next calls
                    continue
                raise

    async def complete(self, messages: list[Message], *, temperature: float, max_tokens: int,
                       json_schema: dict | None = None, seed: int | None = None) -> Completion:
        response, mode = await self._call(
            lambda: self._create(messages, temperature, max_tokens, json_schema, seed))
        return self._completion(response, structured=mode in ("json_schema", "json_object"))

    def _completion(self, response, *, structured: bool) -> Completion:
        if isinstance(response, str | bytes) or response is None:
            raise invalid_response(self.target, "a body that is not JSON")
        try:
            choice = response.choices[0]
            text = choice.message.content
            finish_reason = choice.finish_reason
        except (AttributeError, IndexError, KeyError, TypeError) as exc:
            raise invalid_response(self.target, "no choices[0].message in the reply") from exc
        if text is None:
            refusal = getattr(choice.message, "refusal", None)
            if refusal:
                said = f": {refusal}" if self.config.quote_server else ""
                raise ProviderError(ErrorCode.BAD_REQUEST, f"the model refused{said}",
                                    hint="rephrase the intent or its example sentences",
                                    provider=self.name)
            raise invalid_response(self.target, "the reply has no message content")
        usage = getattr(response, "usage", None)
        return Completion(
            text=text, model=getattr(response, "model", None) or self.model,
            input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            structured=structured, finish_reason=finish_reason)

    async def check(self) -> CheckResult:
        import openai

        started = time.monotonic()

        async def listing():
            page = await self._client.models.list()
            return [m.id for m in page.data]

        try:
            models = await self._call(listing)
        except ProviderError as exc:
            cause = exc.__cause__
            while isinstance(cause, ProviderError):
                cause = cause.__cause__
            if not isinstance(cause, openai.NotFoundError):
                raise
            # No /models endpoint: the only way left is to ask the model for one token.
            await self._probe()
            models = None
        if models is not None and self.model not in models:
            raise ProviderError(
                ErrorCode.MODEL_NOT_FOUND,
                f"the model {self.model!r} is not offered by {self.target.url}",
                hint=self._choose_hint(models), provider=self.name)
        listed = {"models": models} if models is not None and self.config.quote_server else {}
        return CheckResult(ok=True, provider=self.name, model=self.model,
                           message=f"{self.target.url} serves {self.model}",
                           details={"url": self.target.url,
                                    "latency_s": round(time.monotonic() - started, 3),
                                    **listed})

    def _choose_hint(self, models: list[str]) -> str:
        if not self.config.quote_server:  # the names, even their number, are the server's
            return "check the model name: the server's list of models does not have it"
        if not models:
            return "the server lists no models"
        return "choose one of: " + ", ".join(models[:15]) + (" …" if len(models) > 15 else "")

    async def _probe(self) -> Completion:
        """A one-token completion: proves the key, the endpoint and the model at once."""
        return await self.complete([{"role": "user", "content": "Say OK."}], temperature=0.0,
                                   max_tokens=1)

    async def aclose(self) -> None:
        await self._client.close()


class OpenAICompatibleProvider(OpenAIProvider):
    """A server speaking OpenAI's protocol (llama.cpp, vLLM, LM Studio…) at a URL that must be
    given: without one the SDK would quietly call api.openai.com instead. It reports itself
    as `openai` (the protocol) in errors, traces and costs."""

    def _setup(self) -> None:
        env = os.environ if self.config.read_env else {}
        if not (self.config.base_url or env.get("OPENAI_BASE_URL")):
            raise ProviderError(
                ErrorCode.CONFIGURATION, "no URL for the OpenAI-compatible server",
                hint="give it with the option --base-url, e.g. http://127.0.0.1:8080/v1",
                provider=self.name)
        super()._setup()


INFO = ProviderInfo(name="openai", label="OpenAI", create=OpenAIProvider,
                    fields=(MODEL, BASE_URL, API_KEY), required=("model", "api_key"),
                    key_env=OpenAIProvider.key_env, concurrency=4,
                    models=(DEFAULT_MODEL, "gpt-4o"), default_base_url=OPENAI_URL)
# A key is optional: many local servers take none.
COMPATIBLE = ProviderInfo(name="openai-compatible", label="OpenAI-compatible",
                          label_fr="Compatible OpenAI",
                          create=OpenAICompatibleProvider, fields=(MODEL, BASE_URL, API_KEY),
                          required=("model", "base_url"), key_env=OpenAIProvider.key_env,
                          concurrency=4)
