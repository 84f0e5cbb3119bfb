"""The bot-voice check: replies and bot-side questions are not training sentences, while the
many ways users phrase a request, question mark or not, pass."""

import pytest

from utterly.voice import bot_voice

BILLS = ["What's the total of my bills?", "How much do I owe on my bills?"]
PARCEL = ["Où est mon colis ?"]


@pytest.mark.parametrize("text", [
    "Sure, you can check it in the app.",
    "Certainly! Your total is shown on the first page.",
    "You can pay your bills online.",
    "Here's how to see the total of the bills.",
    "Your refund has been processed.",
    "Unfortunately the service is closed today.",
    "Thank you for contacting us.",
    "I'm sorry, but I can't reset your password.",
    "I am sorry but I cannot see your bills.",
])
def test_an_english_reply_is_bot_voice(text):
    assert "reply" in bot_voice(text, ["I want a refund"], "en")


@pytest.mark.parametrize("text", [
    "Bien sûr, je regarde ça.",
    "Voici le lien pour suivre le colis.",
    "Votre colis a été expédié hier.",
    "Il vous suffit de cliquer sur Suivre.",
    # refusals seen in the Studio's "safe" selection (issue 25)
    "Je suis désolé, mais je n'ai pas accès au mot de passe.",
    "Désolé, je ne peux pas vous aider à réinitialiser votre mot de passe.",
    "Je ne peux pas vous aider, votre compte est bloqué.",
])
def test_a_french_reply_is_bot_voice(text):
    assert bot_voice(text, PARCEL, "fr-FR") is not None


@pytest.mark.parametrize(("text", "examples", "locale", "found"), [
    ("Have you looked into the total of your bills?", BILLS, "en", "your"),
    ("Is there any news on your credit card application?",
     ["What's the status of my credit card application?"], "en-GB", "your"),
    ("Avez-vous reçu votre colis ?", PARCEL, "fr", "votre"),
    ("¿Dónde está tu paquete?", ["¿Dónde está mi paquete?"], "es", "tu"),
    ("Wo ist dein Paket?", ["Wo ist mein Paket?"], "de", "dein"),
])
def test_the_possessive_flipped_to_the_user_is_bot_voice(text, examples, locale, found):
    why = bot_voice(text, examples, locale)
    assert why is not None and f"“{found}”" in why


@pytest.mark.parametrize(("text", "examples", "locale"), [
    # user requests without a question mark, and questions that start like replies
    ("I need the total of my bills", BILLS, "en"),
    ("Can you tell me the total of my bills", BILLS, "en"),
    ("You can see my bills?", BILLS, "en"),
    ("Let me know the total of my bills", BILLS, "en"),
    ("Vous pouvez me dire où est mon colis", PARCEL, "fr"),
    ("Je vous écris car mon colis n'est pas arrivé", PARCEL, "fr"),
    ("oui ou non, mon colis arrive aujourd'hui ?", PARCEL, "fr"),
    # a user apologising is still a user
    ("Désolé de vous déranger, mon colis n'est pas arrivé", PARCEL, "fr"),
    ("Sorry, I can't find the total of my bills", BILLS, "en"),
    ("I'm afraid I lost the bill", BILLS, "en"),
    ("I'm unable to see the total of my bills", BILLS, "en"),
    ("Je ne peux pas vous joindre, où est mon colis", PARCEL, "fr"),
    # "your" is fine where the examples use it too, or when the user also says "my"
    ("Is your app down?", ["Is your app down again?"], "en"),
    ("Does your app show my bills?", BILLS, "en"),
    ("Why doesn't your app load?", ["The app does not load"], "en"),
    # a generic "you", and a user who also speaks of themselves
    ("How do you change your PIN?", ["How do I change my PIN?"], "en"),
    ("To change your delivery address, what should I do?",
     ["How do I change my delivery address?"], "en"),
    ("Vous pouvez m'aider à suivre votre colis ?", PARCEL, "fr"),
    # no word lists for this language: never flagged
    ("Certo, puoi pagare online.", ["Come pago la bolletta?"], "it"),
    ("", BILLS, "en"),
])
def test_user_sentences_are_not_bot_voice(text, examples, locale):
    assert bot_voice(text, examples, locale) is None
