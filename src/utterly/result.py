"""What a generation returns: kept sentences, rejected ones with reasons, and the cost."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum


class Origin(StrEnum):
    MODEL = "model"            # written by the model as is
    TRANSFORMED = "transformed"  # a model paraphrase with a deterministic variation applied


class RejectReason(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    COPY_OF_INPUT = "copy_of_input"
    DUPLICATE = "duplicate"
    NEAR_DUPLICATE = "near_duplicate"
    WRONG_LANGUAGE = "wrong_language"
    BOT_VOICE = "bot_voice"    # a reply, or the bot speaking to the user, not a user's message
    DRIFTED_MEANING = "drifted_meaning"
    OTHER_INTENT = "other_intent"  # closer to another FAQ of the bot than to its own
    SURPLUS = "surplus"        # valid, but more than were asked for


@dataclass
class Sentence:
    text: str
    origin: Origin = Origin.MODEL
    scores: dict[str, float] = field(default_factory=dict)
    # for transformed sentences: the paraphrase it came from and which variations
    source_text: str | None = None
    variations: list[str] = field(default_factory=list)


class Why(str):
    """English words saying why (a rejection's detail), that also carry a stable `code`
    and its `params`, for a caller to say it in its own words and language (the Studio's
    pages translate `rejection.<code>`). A `str`, so that it reads as the words it holds.
    A param named `language` or `expected` holds a language code ("en"), not a name."""

    code: str
    params: dict

    def __new__(cls, code: str, english: str, **params) -> "Why":
        why = super().__new__(cls, english)
        why.code, why.params = code, params
        return why

    def __reduce__(self):
        return _why, (self.code, str(self), self.params)


def _why(code: str, english: str, params: dict) -> Why:
    return Why(code, english, **params)


@dataclass
class Rejection:
    text: str
    reason: RejectReason
    detail: str = ""
    # the detail as a code and its values (Why); empty for a detail in words only
    code: str = ""
    params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.detail, Why) and not self.code:
            self.code, self.params = self.detail.code, dict(self.detail.params)
        self.detail = str(self.detail)


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, input_tokens: int, output_tokens: int) -> None:
        self.input_tokens += input_tokens or 0
        self.output_tokens += output_tokens or 0


@dataclass(frozen=True)
class Notice:
    """A warning about a run as a stable `code` and its `values`, for a caller to put in
    its own words and language (the Studio translates it); `text` is the English wording
    that `GenerationResult.warnings` carries."""

    code: str
    values: dict
    text: str

    def to_dict(self) -> dict:
        return {"code": self.code, "values": dict(self.values)}


@dataclass
class GenerationResult:
    sentences: list[Sentence]
    rejected: list[Rejection]
    usage: Usage
    attempts: int
    provider: str
    model: str
    latency_s: float
    requested: int = 0
    warnings: list[str] = field(default_factory=list)
    # the same warnings, each as a code and values (Notice.to_dict)
    notices: list[dict] = field(default_factory=list)
    seed: int | None = None
    # USD for the whole run; None when the model's price is unknown (see observability.pricing)
    cost_usd: float | None = None
    # valid_ratio, mean_similarity, diversity (see observability.scores)
    quality: dict[str, float] = field(default_factory=dict)
    trace_id: str | None = None
    trace_url: str | None = None
    # seconds from the start until the first sentence was kept (None: none was)
    first_sentence_s: float | None = None
    # why the generation ended before trying for all `requested`: "cancelled" (the caller
    # asked; or the word its `should_stop()` returned, the Studio's "closed") or "timeout"
    # (the model did not finish in time); None when it did not
    stopped: str | None = None
    # One record per call to the model: the prompts sent and the raw answers (capped, see
    # pipeline.TRACE_TEXT_CHARS), parse problems, tokens, latency. What a person needs to
    # see why a run went as it did without a tracing backend; no secret is in a prompt.
    trace: list[dict] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return len(self.sentences) >= self.requested

    def to_dict(self) -> dict:
        data = asdict(self)
        for s in data["sentences"]:
            s["origin"] = str(s["origin"])
        for r in data["rejected"]:
            r["reason"] = str(r["reason"])
        data["latency_s"] = round(self.latency_s, 3)
        return data
