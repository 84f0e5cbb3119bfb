"""The conflict index updated, not rebuilt (issue 24: one sentence added rebuilt the whole
index, 50.7 s of CPU at 120,000 sentences): `ConflictIndex.updated` gives what a full
build of the new sentences gives, embedding only the texts it has not seen, and doing
nothing at all when the change leaves the kept sample as it was."""

from __future__ import annotations

import numpy as np
import pytest

from utterly.embeddings.local import LocalEmbeddings
from utterly.nlu import Example, conflicts
from utterly.nlu.conflicts import ConflictIndex

CANCEL = {
    "order": ["cancel my order", "I want to cancel the order I placed",
              "stop my order before it ships", "how do I cancel a purchase",
              "cancel the order I made yesterday"],
    "subscription": ["cancel my subscription", "stop my monthly plan", "end my membership",
                     "I don't want to be billed every month anymore",
                     "unsubscribe me from the monthly plan"],
    "hours": ["what time do you open", "what are your opening hours",
              "are you open on sunday"],
}
CANDIDATES = ["please cancel my monthly subscription", "end my monthly membership plan",
              "cancel the order I placed last week", "I would like to cancel my purchase",
              "when do you close tonight"]


def examples(by_intent: dict[str, list[str]], origin: str = "human") -> list[Example]:
    return [Example(t, intent, "en", origin) for intent, texts in by_intent.items()
            for t in texts]


class Counting:
    """The local embedder, counting the texts it is asked to embed."""

    def __init__(self, embed):
        self.embed = embed
        self.texts = 0

    def __call__(self, texts):
        self.texts += len(texts)
        return self.embed(texts)


@pytest.fixture(scope="module")
def embed():
    return LocalEmbeddings().embed_sync


def assert_same_index(updated: ConflictIndex, full: ConflictIndex) -> None:
    """What a check reads from an index: the sample and its labels, the classifier's
    probabilities, the vectors (an embedder gives a text the same vector to ~1e-7, whatever
    batch it comes in), and the risks it finds."""
    assert updated.sample == full.sample
    assert list(updated.labels) == list(full.labels)
    assert updated.classifier.intents == full.classifier.intents
    np.testing.assert_allclose(updated.classifier.probabilities(CANDIDATES),
                               full.classifier.probabilities(CANDIDATES), rtol=0, atol=1e-9)
    np.testing.assert_allclose(updated.vectors, full.vectors, rtol=0, atol=1e-5)
    for own in ("order", "subscription", "hours"):
        for a, b in zip(updated.risks(CANDIDATES, own), full.risks(CANDIDATES, own)):
            assert (a is None) == (b is None)
            if a is not None:
                assert (a.text, a.intent, a.reason, a.margin) == (b.text, b.intent, b.reason,
                                                                   b.margin)
                assert abs(a.similarity - b.similarity) < 1e-3


def test_adding_a_sentence_embeds_that_sentence_only_and_equals_a_full_build(embed):
    counting = Counting(embed)
    stored = examples(CANCEL)
    index = ConflictIndex(stored, embed=counting)
    assert counting.texts == index.embedded == len(stored) and index.trained

    added = stored + examples({"hours": ["until when are you open"]})
    counting.texts = 0
    updated = index.updated(added)
    assert counting.texts == updated.embedded == 1  # the new sentence, not the 14 others
    assert updated is not index and updated.trained
    assert_same_index(updated, ConflictIndex(added, embed=embed))
    assert len(index.labels) == len(stored)  # the index in use is left as it was


def test_removing_or_moving_a_sentence_embeds_nothing_and_equals_a_full_build(embed):
    counting = Counting(embed)
    stored = examples(CANCEL)
    index = ConflictIndex(stored, embed=counting)
    counting.texts = 0
    removed = [e for e in stored if e.text != "stop my monthly plan"]
    updated = index.updated(removed)
    assert counting.texts == updated.embedded == 0
    assert_same_index(updated, ConflictIndex(removed, embed=embed))

    moved = [Example(e.text, "hours", e.locale, e.origin) if e.text == "end my membership"
             else e for e in stored]
    counting.texts = 0  # (the risks above embedded their candidates)
    again = index.updated(moved)
    assert counting.texts == 0 and again.trained
    assert_same_index(again, ConflictIndex(moved, embed=embed))


def test_a_change_the_kept_sample_does_not_hold_costs_nothing(monkeypatch, embed):
    """A big bot keeps an even share of each FAQ: a sentence added to an FAQ that has its
    share already (or removed from beyond it) leaves the index as a full build makes it."""
    monkeypatch.setattr(conflicts, "MAX_EXAMPLES", 9)  # 3 intents: 3 sentences each
    counting = Counting(embed)
    stored = examples(CANCEL)
    index = ConflictIndex(stored, embed=counting)
    assert len(index.sample) == 9
    counting.texts = 0
    more = stored + examples({"order": ["cancel everything I ordered"]}, origin="generated")
    assert index.updated(more) is index and counting.texts == 0
    assert_same_index(index, ConflictIndex(more, embed=embed))
    counting.texts = 0
    fewer = [e for e in stored if e.text != "cancel the order I made yesterday"]  # 5th of 5
    assert index.updated(fewer) is index and counting.texts == 0

    # a human sentence comes before the generated ones of its FAQ: then the sample moves
    human = stored + examples({"order": ["cancel what I bought"]})
    assert index.updated(human) is index  # the 6th human sentence of `order`: beyond 3
    first = [Example("cancel it all", "order", "en")] + stored
    updated = index.updated(first)
    assert updated is not index and updated.embedded == 1
    assert_same_index(updated, ConflictIndex(first, embed=embed))


def test_an_index_without_a_second_intent_updates_into_a_full_one(embed):
    only = examples({"order": CANCEL["order"]})
    index = ConflictIndex(only, embed=embed)
    assert index.classifier is None and index.vectors is None
    stored = examples(CANCEL)
    updated = index.updated(stored)
    assert updated.embedded == len(stored)
    assert_same_index(updated, ConflictIndex(stored, embed=embed))
