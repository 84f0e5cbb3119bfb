"""What the bridge does for each of Tock's calls, without HTTP: generate sentences, check a
provider setting, check a Langfuse setting. Every failure leaves as a TockError."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace

from ..errors import ErrorCode, ProviderError, UtterlyError
from ..generation import acheck_provider, agenerate, load_filters
from ..observability import TracingConfig
from ..outbound import check_url
from ..pipeline import PipelineSettings
from ..providers import ChatProvider, create_provider
from ..redact import redact
from ..request import GenerationRequest
from ..tock import translate
from ..tock.contract import CompletionRequest, LangfuseSetting, LLMStatusRequest, RawSecretKey
from ..tock.errors import TockCode, TockError, from_utterly
from .config import BridgeConfig, Mode, PromptChoice

log = logging.getLogger("utterly.tock_bridge")

# A status check is a setting page waiting on a save: it must not hang on a dead server.
CHECK_TIMEOUT_S = 20.0


class BridgeService:
    def __init__(self, config: BridgeConfig):
        self.config = config
        self._provider: ChatProvider | None = None
        self._embeddings = None
        self._ready = asyncio.Lock()
        self.link = None
        if config.studio is not None:
            from .studio_link import LinkedBot

            self.link = LinkedBot(config.studio)

    # ---- life ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the model and the filters before the first click, if asked to."""
        if not self.config.warm_up:
            return
        started = time.perf_counter()
        await asyncio.to_thread(load_filters)
        if self.link is not None:
            # The linked bot's provider, built for this once: the local model stays loaded
            # in the process for the generations that follow.
            provider, owned = create_provider(await asyncio.to_thread(
                self.link.provider_config)), True
        elif self.config.mode == Mode.SERVER:
            provider, owned = await self._server_provider(), False
        else:
            provider, owned = None, False
        try:
            prepare = getattr(provider, "prepare", None)
            if prepare is not None:
                await prepare([[{"role": "user", "content": "Bonjour"}]])
        finally:
            if owned:
                await provider.aclose()
        log.info("ready in %.1f s", time.perf_counter() - started)

    async def aclose(self) -> None:
        for thing in (self._provider, self._embeddings):
            if thing is not None:
                await thing.aclose()

    async def _server_provider(self) -> ChatProvider:
        async with self._ready:
            if self._provider is None:
                self._provider = create_provider(self.config.provider)
            return self._provider

    async def _embedder(self):
        if self.config.embeddings == "none":
            return None
        async with self._ready:
            if self._embeddings is None:
                from ..embeddings import create_embeddings

                self._embeddings = create_embeddings(self.config.embeddings)
            return self._embeddings

    # ---- sentence generation -------------------------------------------------------------

    async def sentences(self, body: CompletionRequest, request_line: str) -> list[str]:
        secrets = _secrets_of(body)
        provider_name = str(body.llm_setting.provider)
        # Which call a failure is about: the bridge's route until a provider is chosen,
        # then the provider's, as Tock's orchestrator names it.
        where: dict[str, str] = {}
        try:
            return await self._sentences(body, where)
        except UtterlyError as exc:
            line = where.get("provider") if isinstance(exc, ProviderError) else None
            raise from_utterly(exc, provider=provider_name, request=line or request_line,
                               secrets=secrets) from None

    async def _sentences(self, body: CompletionRequest, where: dict) -> list[str]:
        config = self.config
        inputs = translate.read_inputs(body.prompt.inputs)
        temperature = min(1.0, body.llm_setting.temperature)
        use_tock = config.prompt == PromptChoice.TOCK

        def tracing_for(own: TracingConfig | None) -> TracingConfig | None:
            # A trace is not worth a generation: a Langfuse setting that cannot be used
            # (a refused URL, an unresolvable key) is logged and left out, as Tock's own
            # orchestrator generates when its Langfuse is down.
            try:
                return translate.tracing_config(body.observability_setting, own,
                                                outbound=config.outbound,
                                                secrets=config.secrets)
            except UtterlyError as exc:
                log.warning("Tock's observability setting is not used: %s",
                            redact(str(exc), *_secrets_of(body)))
                return own

        deadline = config.deadline_s
        context: dict = {}
        template = None
        own_tracing = config.tracing
        if self.link is not None:
            locale = await asyncio.to_thread(self.link.locale, inputs.locale)
            if locale is None:
                raise UtterlyError(
                    f"the Studio bot linked to this bridge has no locale {inputs.locale!r}",
                    field="prompt.inputs.locale",
                    hint="add the locale to the Studio bot, or link the bridge to the bot "
                         "that mirrors this Tock bot")
            match = await asyncio.to_thread(self.link.find_faq, inputs.sentences, locale)
            if match is not None:
                texts = await asyncio.to_thread(
                    self.link.generate, match, sentences=inputs.sentences,
                    n=inputs.nb_sentences, temperature=temperature, options=inputs.options,
                    deadline_s=deadline, tracing_for=tracing_for)
                log.info("generated %d/%d for FAQ %r of the linked bot", len(texts),
                         inputs.nb_sentences, match.title)
                return texts[:inputs.nb_sentences]
            bot = await asyncio.to_thread(self.link.context_and_config, locale)
            context, template, own_tracing = bot.context, bot.template, bot.tracing
            deadline = min(deadline, bot.timeout_s)
            where["provider"] = translate.provider_request_line(bot.config)
            provider, owned = create_provider(bot.config), True
        elif config.mode == Mode.PASS_THROUGH:
            tock_config = translate.provider_config(
                body.llm_setting, outbound=config.outbound, timeout_s=deadline,
                secrets=config.secrets)
            where["provider"] = translate.provider_request_line(tock_config)
            provider, owned = create_provider(tock_config), True
        else:
            where["provider"] = translate.provider_request_line(config.provider)
            provider, owned = await self._server_provider(), False
        try:
            request = translate.generation_request(body, use_tock_prompt=use_tock,
                                                   context=context)
            if template and not use_tock:
                request = GenerationRequest.build(**{**request.model_dump(),
                                                     "prompt_template": template})
            result = await agenerate(
                request, provider=provider, embeddings=await self._embedder(),
                settings=PipelineSettings(deadline_s=deadline),
                tracing=tracing_for(own_tracing),
                trace_context={"tags": ["tock-bridge"],
                               "metadata": {"tock_provider": str(body.llm_setting.provider),
                                            "bridge_mode": str(config.mode)}})
        finally:
            if owned:
                await provider.aclose()
        texts = [s.text for s in result.sentences][:request.n]
        log.info("generated %d/%d (%s, %.1f s%s)", len(texts), request.n, result.model,
                 result.latency_s, f", stopped: {result.stopped}" if result.stopped else "")
        return texts

    # ---- setting checks ------------------------------------------------------------------

    async def check_llm(self, body: LLMStatusRequest, request_line: str) -> list[dict]:
        """Tock's errors for this provider setting; none when it works. In server mode
        Tock's setting is not used: the bridge's own provider is what is checked."""
        setting = body.setting
        try:
            if self.link is not None:
                own = await asyncio.to_thread(self.link.provider_config)
                await asyncio.wait_for(acheck_provider(own, tracing=None), CHECK_TIMEOUT_S)
                return []
            if self.config.mode == Mode.SERVER:
                await asyncio.wait_for(acheck_provider(self.config.provider, tracing=None),
                                       CHECK_TIMEOUT_S)
                return []
            # Tock's setting names a URL its users typed: the check quotes nothing it answers
            config = replace(translate.provider_config(setting, outbound=self.config.outbound,
                                                       timeout_s=CHECK_TIMEOUT_S,
                                                       secrets=self.config.secrets),
                             quote_server=False)
            tracing = translate.tracing_config(body.observability_setting, self.config.tracing,
                                               outbound=self.config.outbound,
                                               secrets=self.config.secrets)
            request_line = translate.provider_request_line(config)
            await asyncio.wait_for(acheck_provider(config, tracing=tracing), CHECK_TIMEOUT_S)
            return []
        except TimeoutError:
            return [TockError(TockCode.CONNECTION_ERROR, cause="the provider did not answer "
                              f"within {CHECK_TIMEOUT_S:g} s", provider=str(setting.provider),
                              error="timeout", request=request_line).body()]
        except UtterlyError as exc:
            return [from_utterly(exc, provider=str(setting.provider), request=request_line,
                                 secrets=_secrets_of(body)).body()]

    async def check_langfuse(self, setting: LangfuseSetting, request_line: str) -> list[dict]:
        from ..observability.check import check_langfuse

        secret = None
        try:
            host = check_url(str(setting.url).rstrip("/"), "setting.url",
                                       self.config.outbound)
            secret = translate.secret_value(setting.secret_key, "setting.secret_key",
                                            self.config.secrets)
            await asyncio.to_thread(check_langfuse, host, setting.public_key, secret,
                                    timeout_s=10.0, outbound=self.config.outbound)
            return []
        except UtterlyError as exc:
            error = from_utterly(exc, provider="Langfuse", request=request_line,
                                 secrets=(secret,))
            error.code = TockCode.OBSERVABILITY_API_ERROR
            if exc.code == ErrorCode.AUTHENTICATION:
                error.error = "UnauthorizedError"  # Langfuse's, as Tock reports it
            return [error.body()]


def _secrets_of(body) -> tuple[str | None, ...]:
    """The raw secrets a body carries, to keep them out of every error text."""
    found = []
    for setting in (getattr(body, "llm_setting", None), getattr(body, "setting", None),
                    getattr(body, "observability_setting", None)):
        for name in ("api_key", "secret_key"):
            key = getattr(setting, name, None)
            if isinstance(key, RawSecretKey):
                found.append(key.secret)
    return tuple(found)
