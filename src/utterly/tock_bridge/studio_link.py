"""A Studio bot that mirrors the Tock bot (imported from a Tock dump): Tock's request names
no FAQ, so the FAQ is the one whose stored sentences the request's sentences are; its
title, answer and the bot's other FAQs then reach the prompt and the filters, and the
generation is stored as a run of that FAQ (history, review, traces) by the linked user.

A request whose sentences are in no FAQ (a new one in Tock) still gets the bot's other
FAQs as context, with the bot's provider settings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import ErrorCode, ProviderError, UtterlyError
from ..normalize import normalize
from ..providers import ProviderConfig
from ..request import language_of, normalize_locale
from .config import StudioLink


@dataclass
class FaqMatch:
    faq_id: int
    title: str
    locale: str


class LinkedBot:
    def __init__(self, link: StudioLink):
        from ..studio.access import Actor, bot_for, user_by_name
        from ..studio.config import StudioConfig
        from ..studio.db import make_engine, migrate, session_factory
        from ..studio.errors import StudioError
        from ..studio.secrets import SecretBox

        config = StudioConfig.from_env(
            **({"data_dir": Path(link.data_dir)} if link.data_dir else {}),
            database_url=link.database_url)
        engine = make_engine(config.url, **config.pool)
        migrate(engine)
        self.sessions = session_factory(engine)
        self.box = SecretBox.load(config.secret_key, config.key_file)
        self.bot_id = link.bot_id
        with self.sessions() as session:
            user = user_by_name(session, link.username)
            if user is None:
                raise ValueError(f"no Studio user is named {link.username!r}")
            self.actor = Actor(user.id, user.username)
            # the user must be allowed to generate on the bot: refused now, not per request
            try:
                bot = bot_for(session, self.actor, link.bot_id, "bot_user")
            except StudioError as exc:
                raise ValueError(f"Studio bot {link.bot_id} as {link.username}: "
                                 f"{exc.detail} ({exc.hint})") from None
            self.bot_name = bot.name

    def locale(self, tock_locale: str) -> str | None:
        """The bot's locale for Tock's (`fr_FR` → the bot's `fr-FR`, else its `fr`)."""
        from ..studio.models import Bot

        try:
            wanted = normalize_locale(tock_locale)
        except ValueError:
            return None
        with self.sessions() as session:
            locales = list(session.get(Bot, self.bot_id).locales)
        if wanted in locales:
            return wanted
        same = [code for code in locales if language_of(code) == language_of(wanted)]
        return same[0] if same else None

    def find_faq(self, sentences: list[str], locale: str) -> FaqMatch | None:
        """The FAQ most of `sentences` belong to, if any does."""
        from ..studio.models import Faq
        from ..studio.services.bots import existing_sentences

        keys = [k for k in (normalize(s) for s in sentences) if k]
        with self.sessions() as session:
            found = existing_sentences(session, self.bot_id, locale, keys)
            votes = Counter(row.faq_id for row in found.values())
            if not votes:
                return None
            faq_id = votes.most_common(1)[0][0]
            return FaqMatch(faq_id, session.get(Faq, faq_id).title, locale)

    def generate(self, match: FaqMatch, *, sentences: list[str], n: int, temperature: float,
                 options: dict, deadline_s: float, tracing_for=None) -> list[str]:
        """Generate as the Studio does for that FAQ, storing the run; the texts kept.
        `tracing_for(bot_tracing)`: this request's trace destinations."""
        from ..studio.errors import StudioError
        from ..studio.schemas import GenerateIn
        from ..studio.services import generation

        data = GenerateIn(sentences=sentences[:20], locale=match.locale, n=n,
                          temperature=temperature, options=options)
        try:
            plan = generation.prepare(self.sessions, self.actor, self.bot_id, match.faq_id,
                                      data, self.box)
            plan = replace(plan, timeout_s=min(plan.timeout_s, deadline_s),
                           tracing=tracing_for(plan.tracing) if tracing_for else plan.tracing)
            plan.trace_context.setdefault("tags", []).append("tock-bridge")
            out = generation.execute(self.sessions, plan)
        except StudioError as exc:
            raise as_utterly(exc) from None
        return [c.text for c in out.candidates]

    def provider_config(self) -> ProviderConfig:
        """The bot's provider, as its settings say (checked on a Tock settings save)."""
        from ..studio.services import settings as settings_service

        with self.sessions() as session:
            return settings_service.config_of(
                settings_service.generation_row(session, self.bot_id), self.box)

    def context_and_config(self, locale: str) -> BotContext:
        """For sentences in no FAQ: the bot's FAQs as other intents, its provider, its time
        limit, its prompt template and its trace destinations."""
        from sqlalchemy import select

        from ..studio.gates import GATES
        from ..studio.models import Bot, Faq, TrainingSentence
        from ..studio.services import settings as settings_service
        from ..studio.services.generation import CONTEXT_FAQS, CONTEXT_SENTENCES

        with self.sessions() as session:
            row = settings_service.generation_row(session, self.bot_id)
            if not row.enabled:
                raise ProviderError(ErrorCode.CONFIGURATION,
                                    f"sentence generation is disabled for the Studio bot "
                                    f"{self.bot_name!r} linked to this bridge",
                                    hint="enable it in the Studio's Gen AI › Sentence "
                                         "generation settings")
            others: dict[int, dict] = {}
            for faq_id, title, text in session.execute(
                    select(Faq.id, Faq.title, TrainingSentence.text)
                    .join(TrainingSentence, TrainingSentence.faq_id == Faq.id)
                    .where(Faq.bot_id == self.bot_id, TrainingSentence.locale == locale)
                    .order_by(Faq.id, TrainingSentence.origin != "human",
                              TrainingSentence.id)):
                entry = others.setdefault(faq_id, {"name": title, "sentences": []})
                if len(entry["sentences"]) < CONTEXT_SENTENCES:
                    entry["sentences"].append(text)
            return BotContext(
                context={"other_intents": list(others.values())[:CONTEXT_FAQS]},
                config=GATES.gated(settings_service.config_of(row, self.box),
                                   settings_service.concurrency_of(row), bulk=False,
                                   bot_id=self.bot_id,
                                   namespace_id=session.get(Bot, self.bot_id).namespace_id),
                timeout_s=settings_service.timeout_of(row), template=row.prompt_template,
                tracing=settings_service.tracing_for(session, self.bot_id, self.box))


@dataclass
class BotContext:
    context: dict
    config: ProviderConfig
    timeout_s: float
    template: str | None
    tracing: object


def as_utterly(error) -> UtterlyError:
    """A Studio service's error as the core's, so that it maps to Tock's codes."""
    try:
        code = ErrorCode(error.code)
    except ValueError:
        code = ErrorCode.CONFIGURATION
    if code in (ErrorCode.INVALID_INPUT,):
        return UtterlyError(error.detail, hint=error.hint, code=code, field=error.field)
    return ProviderError(code, error.detail, hint=error.hint,
                         provider=error.extra.get("provider", ""))
