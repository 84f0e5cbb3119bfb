"""Does a generated sentence speak as the user, or as the bot?

A training sentence must be something a user types. Models asked to rephrase a question
sometimes answer it ("Sure, you can pay by card.", "Your refund has been processed.") or
turn it round into the bot asking the user ("Have you checked the total of your bills?"
for "What's the total of my bills?"). Both teach the classifier the wrong voice.

Two checks, both cheap and deliberately narrow, since a false alarm drops a good sentence:
- an opener that only the answering side uses ("Sure", "You can", "Voici"…), on a sentence
  that is not a question;
- the possessive flips: the examples say "my/mon" and never "your/votre", the candidate says
  "your/votre" and never "my/mon", nor "I/me/je" (users speak of themselves), nor opens with
  the generic "how do you" ("How do you change your PIN?" is a user's question).
Languages without word lists here are never flagged.
"""

from __future__ import annotations

import re

from .request import language_of
from .result import Why

_WORD = re.compile(r"\w+", re.UNICODE)

# Sequences of words a reply starts with, per language; matched on the first words.
_OPENERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": tuple(tuple(s.split()) for s in (
        "sure", "certainly", "of course", "absolutely", "yes", "no problem", "here is",
        "here s", "here are", "you can", "you should", "you need to", "you must",
        "you will", "you ll", "you have to", "we are sorry", "we re sorry", "we apologize",
        "thank you for", "thanks for", "unfortunately", "i d be happy", "i would be happy",
        "i can help", "i ll help", "i will help", "your request has", "your order has",
        "your refund has", "your account has", "your card has", "your payment has",
        "your transfer has",
        # refusals: the bot declining, which models write for a request they cannot serve
        # (not "I'm afraid", "I'm unable to": users write them of their own trouble)
        "i m sorry but", "i am sorry but", "i cannot help you", "i can t help you")),
    # Not "vous pouvez": "Vous pouvez m'aider" without a question mark is a user's request.
    "fr": tuple(tuple(s.split()) for s in (
        "bien sûr", "certainement", "oui", "voici", "voilà", "vous devez", "il vous suffit",
        "nous sommes désolés", "merci pour", "merci de votre", "malheureusement",
        "je peux vous", "votre demande a", "votre commande a", "votre remboursement a",
        "votre compte a", "votre carte a", "votre paiement a", "votre colis a",
        # refusals ("Désolé, je ne peux pas vous aider à réinitialiser votre mot de passe.")
        "je suis désolé", "je suis désolée", "je suis navré", "je suis navrée",
        "désolé je ne peux", "désolée je ne peux", "désolé mais je ne peux",
        "désolée mais je ne peux", "je ne peux pas vous aider")),
}

_FIRST_PERSON = {"en": {"my", "mine"}, "fr": {"mon", "ma", "mes"},
                 "es": {"mi", "mis"}, "de": {"mein", "meine", "meinen", "meinem", "meiner",
                                             "meines"}}
# Where "your" is still the user's: they also speak of themselves, or ask generically.
_USER_SELF = {"en": {"i", "me", "myself"}, "fr": {"je", "j", "me", "m", "moi"},
              "es": {"yo", "me"}, "de": {"ich", "mich", "mir"}}
_GENERIC_YOU = {"en": {("how", "do", "you"), ("how", "can", "you"), ("how", "would", "you"),
                       ("how", "should", "you"), ("how", "does", "one")}}
_SECOND_PERSON = {"en": {"your", "yours"}, "fr": {"votre", "vos", "ton", "ta", "tes"},
                  "es": {"tu", "tus"}, "de": {"dein", "deine", "deinen", "deinem",
                                             "deiner", "deines"}}


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def bot_voice(text: str, examples: list[str], locale: str) -> Why | None:
    """Why `text` reads as the bot's side of the conversation, or None if it reads as the
    user's."""
    language = language_of(locale)
    words = _words(text)
    if not words:
        return None
    if not text.rstrip().endswith("?"):
        for opener in _OPENERS.get(language, ()):
            if tuple(words[:len(opener)]) == opener:
                return Why("reply_opener", f"starts like a reply (“{' '.join(opener)}”), "
                           "not like a user's message", opener=" ".join(opener))
    first, second = _FIRST_PERSON.get(language), _SECOND_PERSON.get(language)
    if first and second:
        example_words = {w for e in examples for w in _words(e)}
        said = set(words)
        if (example_words & first and not example_words & second
                and said & second and not said & (first | _USER_SELF[language])
                and tuple(words[:3]) not in _GENERIC_YOU.get(language, ())):
            found, theirs = sorted(said & second)[0], sorted(example_words & first)[0]
            return Why("speaks_to_user", f"says “{found}” where the examples say “{theirs}”: "
                       "the bot speaking to the user", word=found, example_word=theirs)
    return None
