"""A generation request, validated before anything reaches a model."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from .errors import InvalidRequest, validation_reason
from .sentence_count import BOUNDS_HINT, DEFAULT_SENTENCES, MAX_SENTENCES

MAX_EXAMPLES = 20
MAX_EXAMPLE_CHARS = 500
MAX_TITLE_CHARS = 200
MAX_ANSWER_CHARS = 5000
MAX_OTHER_INTENTS = 2000
MAX_OTHER_SENTENCES = 50
# BCP 47 as bot builders use it: a language subtag, optional script and region.
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?$")


def normalize_locale(value: str) -> str:
    """'fr_fr' → 'fr-FR'; ValueError when it is not a BCP 47 tag."""
    value = value.strip().replace("_", "-")
    if not _LOCALE.match(value):
        # a ValueError whose type names the problem, for a caller that words it itself
        raise PydanticCustomError("locale_format",
                                  "must be a BCP 47 tag such as 'fr', 'en' or 'en-GB'")
    parts = value.split("-")
    parts[0] = parts[0].lower()
    return "-".join(p.upper() if len(p) == 2 and i else p for i, p in enumerate(parts))


def language_of(locale: str) -> str:
    """The language of a locale, as the word lists and detectors are keyed: "fr-FR",
    "fr_CA", " FR " -> "fr". Lenient, for locales not validated yet; "" when there is none."""
    return (locale or "").replace("_", "-").split("-")[0].strip().lower()


class VariationOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spelling_mistakes: bool = False
    sms_language: bool = False
    abbreviated_language: bool = False

    def any(self) -> bool:
        return self.spelling_mistakes or self.sms_language or self.abbreviated_language


class OtherIntent(BaseModel):
    """Another FAQ of the same bot: a candidate closer to it than to its own FAQ is
    rejected (`other_intent`), naming it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_TITLE_CHARS)
    sentences: list[str] = Field(default_factory=list, max_length=MAX_OTHER_SENTENCES)

    @field_validator("sentences")
    @classmethod
    def _clean(cls, value: list[str]) -> list[str]:
        cleaned = [" ".join(s.split())[:MAX_EXAMPLE_CHARS] for s in value]
        return [s for s in cleaned if s]


class GenerationRequest(BaseModel):
    """What to paraphrase, in which language, how many, and how; and what the bot builder
    already knows of the question (its FAQ's title and answer, the bot's other FAQs)."""

    model_config = ConfigDict(extra="forbid")

    sentences: list[str] = Field(min_length=1, max_length=MAX_EXAMPLES)
    locale: str = "en"
    n: int = Field(default=DEFAULT_SENTENCES, ge=1, le=MAX_SENTENCES)
    temperature: float = Field(default=0.7, ge=0.0, le=1.0)
    options: VariationOptions = Field(default_factory=VariationOptions)
    prompt_template: str | None = None
    seed: int | None = None
    title: str | None = Field(default=None, max_length=MAX_TITLE_CHARS)
    answer: str | None = Field(default=None, max_length=MAX_ANSWER_CHARS)
    other_intents: list[OtherIntent] = Field(default_factory=list,
                                             max_length=MAX_OTHER_INTENTS)

    @field_validator("title", "answer")
    @classmethod
    def _clean_text(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return " ".join(value.split()) or None

    @field_validator("sentences")
    @classmethod
    def _clean_sentences(cls, value: list[str]) -> list[str]:
        cleaned = [" ".join(s.split()) for s in value]
        for i, s in enumerate(cleaned):
            if not s:
                raise ValueError(f"sentence {i + 1} is empty")
            if len(s) > MAX_EXAMPLE_CHARS:
                raise ValueError(f"sentence {i + 1} is longer than {MAX_EXAMPLE_CHARS} characters")
        return cleaned

    @field_validator("locale")
    @classmethod
    def _check_locale(cls, value: str) -> str:
        return normalize_locale(value)

    @property
    def language(self) -> str:
        return language_of(self.locale)

    @classmethod
    def build(cls, **data) -> "GenerationRequest":
        """Validate, turning pydantic's error into an InvalidRequest naming the field."""
        try:
            return cls(**data)
        except ValidationError as exc:
            raise invalid_request_from(exc) from None


def invalid_request_from(exc: ValidationError) -> InvalidRequest:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "request"
    message = first["msg"].removeprefix("Value error, ")
    hints = {
        "sentences": f"give 1 to {MAX_EXAMPLES} non-empty example sentences",
        "n": BOUNDS_HINT,
        "temperature": "use a temperature between 0 and 1",
        "locale": "use a BCP 47 tag such as 'fr' or 'en-GB'",
        "title": f"give a title of at most {MAX_TITLE_CHARS} characters",
        "answer": f"give an answer of at most {MAX_ANSWER_CHARS} characters",
        "other_intents": (f"give at most {MAX_OTHER_INTENTS} other intents, each a name and "
                          f"at most {MAX_OTHER_SENTENCES} sentences"),
    }
    top = str(first["loc"][0]) if first["loc"] else "request"
    reason, params = validation_reason(first)
    return InvalidRequest(f"{field}: {message}", field=field, hint=hints.get(top, ""),
                          reason=reason, params=params)
