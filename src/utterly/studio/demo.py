"""The demo Studio: an admin, a French bot with a few FAQs, generation on the local model."""

from __future__ import annotations

from sqlalchemy import select

from ..prompt import default_template, template_version
from .access import Actor, user_by_name
from .models import Bot, SentenceGenerationSettings
from .schemas import BotIn, FaqIn, SentenceIn
from .services import accounts, bots

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-sav-assistant"  # printed at start; passes the password policy
DEMO_NAMESPACE = "demo"
DEMO_BOT = "Assistant SAV"

FAQS = [
    ("Réinitialiser mon mot de passe",
     "Cliquez sur « Mot de passe oublié » sur la page de connexion : un lien vous est envoyé "
     "par e-mail.",
     ["Comment réinitialiser mon mot de passe ?", "J'ai oublié mon mot de passe"]),
    ("Suivre ma commande",
     "Le suivi de votre colis est dans Mon compte › Mes commandes.",
     ["Où est mon colis ?", "Comment suivre ma commande ?"]),
    ("Horaires du service client",
     "Nous répondons du lundi au vendredi, de 9 h à 18 h.",
     ["Quels sont vos horaires d'ouverture ?"]),
    ("Retourner un article",
     "Vous avez 30 jours pour retourner un article depuis Mon compte › Retours.",
     ["Comment renvoyer un produit ?"]),
]


def seed_demo(sessions) -> dict:
    """Create the demo data once; running it again changes nothing."""
    with sessions() as session, session.begin():
        user = user_by_name(session, DEMO_USER)
        if user is None:
            user = accounts.create_user(session, DEMO_USER, DEMO_PASSWORD, site_admin=True)
        namespace = accounts.ensure_namespace(session, DEMO_NAMESPACE)
        accounts.set_role(session, user, namespace, "admin")
        user.is_site_admin = True  # a demo from before site administrators existed
        actor = Actor(user.id, user.username, True)
        bot = session.scalar(select(Bot).where(Bot.namespace_id == namespace.id,
                                               Bot.name == DEMO_BOT))
        if bot is None:
            bot = bots.create_bot(session, actor, BotIn(namespace_id=namespace.id,
                                                        name=DEMO_BOT, locales=["fr"]))
            for title, answer, sentences in FAQS:
                faq = bots.create_faq(session, actor, bot.id, FaqIn(title=title, answer=answer))
                bots.add_sentences(session, actor, bot.id, faq.id,
                                   [SentenceIn(text=s) for s in sentences])
            settings = session.get(SentenceGenerationSettings, bot.id)
            settings.enabled = True
            settings.provider = "local"
            settings.nb_sentences = 8
            settings.prompt_version = template_version(default_template())
        return {"username": DEMO_USER, "password": DEMO_PASSWORD, "bot_id": bot.id,
                "bot": bot.name}
