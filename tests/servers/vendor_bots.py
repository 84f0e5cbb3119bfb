"""Bots that generate through an OpenAI-compatible vendor over HTTP (such as
capacity_server.py), written straight into a Studio database: the task queue's tests and
its capacity bench share them."""

from __future__ import annotations

from utterly.normalize import normalize
from utterly.prompt import default_template, template_version
from utterly.studio.models import (
    Bot,
    Faq,
    Membership,
    Namespace,
    ObservabilitySettings,
    SentenceGenerationSettings,
    TrainingSentence,
    User,
)

KEY = "sk-vendor-bots-0123456789abcdef"
TOPICS = ["my order", "my invoice", "my password", "my account", "the delivery", "a refund",
          "my card", "the opening hours", "my subscription", "my address", "the warranty",
          "a discount", "my parcel", "the returns", "my booking", "the prices"]


def vendor_bot(sessions, box, namespace: str, vendor_url: str, faqs: int, *,
               password_hash: str, max_concurrency: int = 2,
               timeout_s: float | None = None) -> dict:
    """A namespace with a bot_user `{namespace}-user` and a bot whose `faqs` English FAQs
    have one sentence each, generating 2 sentences through `vendor_url`/v1. Returns the
    ids: `{"bot", "user", "user_id"}`."""
    with sessions() as session, session.begin():
        ns = Namespace(name=namespace)
        session.add(ns)
        session.flush()
        user = User(username=f"{namespace}-user", password_hash=password_hash)
        session.add(user)
        session.flush()
        session.add(Membership(user_id=user.id, namespace_id=ns.id, role="bot_user"))
        bot = Bot(namespace_id=ns.id, name=f"{namespace} bot", locales=["en"])
        session.add(bot)
        session.flush()
        session.add(SentenceGenerationSettings(
            bot_id=bot.id, prompt_version=template_version(default_template()), enabled=True,
            provider="openai-compatible", model="gpt-4o-mini", base_url=f"{vendor_url}/v1",
            api_key_encrypted=box.encrypt(KEY), nb_sentences=2,
            max_concurrency=max_concurrency, timeout_s=timeout_s))
        session.add(ObservabilitySettings(bot_id=bot.id))
        for i in range(faqs):
            topic = f"{TOPICS[i % len(TOPICS)]} {i // len(TOPICS) or ''}".strip()
            faq = Faq(bot_id=bot.id, title=f"About {topic}", locale="en",
                      answer=f"All about {topic}.")
            session.add(faq)
            session.flush()
            text = f"I have a question about {topic}"
            session.add(TrainingSentence(bot_id=bot.id, faq_id=faq.id, text=text,
                                         normalized=normalize(text), locale="en",
                                         origin="human"))
        return {"bot": bot.id, "user": user.username, "user_id": user.id}
