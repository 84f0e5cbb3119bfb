"""The NLU loop without a database: the intent classifier, the side-by-side evaluation and
the conflict check, on small hand-written fixtures whose right answers are known.

The evaluation fixture has a deliberately weak intent ("hours"): its human sentences say
"open"/"hours" while its test sentences say "schedule"/"shop". Correct generated paraphrases
bridge that gap and must raise its recall; generated sentences labelled "hours" that really
ask for a password must lower the accuracy. Both directions prove the evaluation measures
instead of rewarding generated sentences by construction.
"""

from __future__ import annotations

import pytest

from utterly.embeddings.local import LocalEmbeddings
from utterly.errors import InvalidRequest
from utterly.nlu import ConflictIndex, Example, IntentClassifier, compare, conflict_risks, conflicts

HUMAN = {
    "password": ["I forgot my password", "how do I reset my password",
                 "send me a password reset link", "my password does not work",
                 "I want to change my password"],
    "refund": ["I want my money back", "how do I get a refund", "refund for my order please",
               "can I be reimbursed", "when will my refund arrive"],
    "delivery": ["where is my parcel", "when will my package be delivered",
                 "track my delivery", "my parcel has not arrived yet",
                 "delivery status of my package"],
    "hours": ["what time do you open", "what are your opening hours",
              "are you open on sunday", "when do you close tonight",
              "opening hours on holidays"],
}
TEST_COMMON = {
    "password": ["reset password please", "I can't remember my password"],
    "refund": ["I would like a refund", "give me my money back"],
    "delivery": ["track my parcel", "where is my package"],
}
# "hours" asked in words its human sentences never use
WEAK_HOURS_TEST = ["store schedule for saturday", "schedule of the shop",
                   "is the shop staffed at weekends", "shop schedule"]
COVERED_HOURS_TEST = ["what time do you open on saturday", "your opening hours please"]
# correct paraphrases of "hours" that bridge the vocabulary gap
GOOD_HOURS = ["what is the shop schedule", "store schedule today",
              "weekend schedule of the store", "is the shop staffed today",
              "schedule for the shop on saturday"]
# labelled "hours" but asking for a password
WRONG_HOURS = ["I forgot my password again", "please reset my password",
               "password reset please", "my password is not working",
               "change my password now", "I lost my password"]


def examples(by_intent: dict[str, list[str]], origin: str = "human") -> list[Example]:
    return [Example(text, intent, "en", origin)
            for intent, texts in by_intent.items() for text in texts]


def generated(intent: str, texts: list[str]) -> list[Example]:
    return examples({intent: texts}, origin="generated")


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    return IntentClassifier().fit(examples(HUMAN))


# ---- the classifier -------------------------------------------------------------------

@pytest.mark.parametrize("text, intent", [
    ("how can I reset my password", "password"),
    ("I would like my money back", "refund"),
    ("where is my package", "delivery"),
    ("what time do you close on sunday", "hours"),
])
def test_predict_gives_the_right_intent_first_with_a_sorted_ranking(classifier, text, intent):
    prediction = classifier.predict([text])[0]
    assert prediction.text == text
    assert prediction.intent == intent
    names = [name for name, _ in prediction.ranking]
    probabilities = [p for _, p in prediction.ranking]
    assert names[0] == intent and prediction.confidence == probabilities[0]
    assert sorted(names) == sorted(HUMAN)  # every intent ranked once
    assert probabilities == sorted(probabilities, reverse=True)
    assert probabilities[0] > probabilities[1]
    assert sum(probabilities) == pytest.approx(1, abs=1e-3)


def test_predict_top_limits_the_ranking(classifier):
    prediction = classifier.predict(["track my delivery please"], top=2)[0]
    assert len(prediction.ranking) == 2
    assert prediction.intent == "delivery"


@pytest.mark.parametrize("typo, intent", [
    ("pasword", "password"),      # a word the training never saw: only characters match
    ("paswrod resett", "password"),
    ("refnd", "refund"),
    ("parcell", "delivery"),
])
def test_misspelt_words_still_classify_thanks_to_character_ngrams(classifier, typo, intent):
    assert classifier.predict([typo])[0].intent == intent


def test_training_on_a_single_intent_is_refused_naming_the_field():
    with pytest.raises(InvalidRequest) as caught:
        IntentClassifier().fit(examples({"password": HUMAN["password"]}))
    assert caught.value.field == "sentences"
    assert "2 intents" in caught.value.message and caught.value.hint


def test_predicting_before_training_is_refused():
    with pytest.raises(InvalidRequest) as caught:
        IntentClassifier().predict(["hello"])
    assert caught.value.field == "model"


def test_unknown_features_are_refused():
    with pytest.raises(InvalidRequest) as caught:
        IntentClassifier(features="bag-of-words")
    assert caught.value.field == "features"


def test_a_stored_model_predicts_exactly_as_the_original(classifier):
    texts = ["pasword reset", "I want a refund", "where is it", "opening hours", "hello"]
    loaded = IntentClassifier.from_bytes(classifier.to_bytes())
    assert loaded.intents == classifier.intents
    assert loaded.trained_on == classifier.trained_on == 20
    for before, after in zip(classifier.predict(texts), loaded.predict(texts)):
        assert after.intent == before.intent
        assert after.ranking == before.ranking


# ---- the evaluation -------------------------------------------------------------------

def weak_test() -> list[Example]:
    return examples({**TEST_COMMON, "hours": WEAK_HOURS_TEST})


def covered_test() -> list[Example]:
    return examples({**TEST_COMMON, "hours": COVERED_HOURS_TEST})


def test_correct_paraphrases_raise_the_recall_of_a_weak_intent():
    result = compare(examples(HUMAN), generated("hours", GOOD_HOURS), test=weak_test())
    before = result.human_only.per_intent["hours"]
    after = result.human_plus_generated.per_intent["hours"]
    assert before["support"] == after["support"] == len(WEAK_HOURS_TEST)
    assert before["recall"] == 0.0  # the human sentences alone miss every one
    assert after["recall"] > before["recall"]
    assert result.human_plus_generated.accuracy > result.human_only.accuracy
    assert result.gain["accuracy"] > 0 and result.gain["macro_f1"] > 0
    assert result.gain["accuracy"] == pytest.approx(
        result.human_plus_generated.accuracy - result.human_only.accuracy, abs=1e-4)
    # the weak intent's test sentences were taken for other intents
    assert {true for true, _, _ in result.human_only.confused} == {"hours"}
    assert result.human_only.trained_on == 20
    assert result.human_plus_generated.trained_on == 20 + len(GOOD_HOURS)
    assert result.generated_used == len(GOOD_HOURS)


def test_wrong_generated_sentences_lower_the_accuracy_and_show_the_confused_pair():
    result = compare(examples(HUMAN), generated("hours", WRONG_HOURS), test=covered_test())
    assert result.human_only.accuracy == 1.0 and result.human_only.confused == []
    assert result.human_plus_generated.accuracy < result.human_only.accuracy
    assert result.gain["accuracy"] < 0 and result.gain["macro_f1"] < 0
    assert result.human_plus_generated.per_intent["password"]["recall"] < 1.0
    # password questions now land on "hours", where the wrong sentences taught them to go
    true, predicted, count = result.human_plus_generated.confused[0]
    assert (true, predicted) == ("password", "hours") and count >= 1


def test_held_out_mode_scores_exactly_the_given_test_sentences():
    test = covered_test()
    result = compare(examples(HUMAN), [], test=test)
    assert result.method == "held-out"
    assert result.tested_on == len(test)
    # nothing generated: both models are the same model
    assert result.human_only == result.human_plus_generated
    assert result.gain == {"accuracy": 0.0, "macro_f1": 0.0}
    data = result.to_dict()
    assert data["gain"] == result.gain and data["human_only"]["accuracy"] == 1.0


@pytest.mark.parametrize("k", [2, 5])
def test_k_fold_mode_tests_every_human_sentence_once(k):
    human = examples(HUMAN)
    result = compare(human, generated("hours", GOOD_HOURS), k=k)
    assert result.method == f"k-fold (k={k})"
    assert result.tested_on == len(human)
    # each fold trains on the others: k-1 of the k folds of 5 sentences per intent
    assert result.human_only.trained_on == len(human) - len(human) // k
    assert result.human_plus_generated.trained_on == (result.human_only.trained_on
                                                      + len(GOOD_HOURS))
    supports = {intent: s["support"] for intent, s in result.human_only.per_intent.items()}
    assert supports == {intent: 5 for intent in HUMAN}


def test_k_fold_needs_a_few_human_sentences():
    with pytest.raises(InvalidRequest) as caught:
        compare(examples({"a": ["one"], "b": ["two"]}), [])
    assert caught.value.field == "sentences"


def test_a_generated_copy_of_a_test_sentence_is_not_trained_on():
    test = weak_test()
    # the test sentences themselves, one of them in other case and punctuation
    leaked = WEAK_HOURS_TEST[:-1] + ["Shop schedule?"]
    result = compare(examples(HUMAN), generated("hours", leaked), test=test)
    assert result.human_plus_generated.trained_on == result.human_only.trained_on == 20
    assert result.human_plus_generated.accuracy == result.human_only.accuracy
    assert result.human_plus_generated.per_intent["hours"]["recall"] == 0.0
    # had they been trained on, the weak intent would have been answered perfectly
    cheat = IntentClassifier().fit(examples(HUMAN) + generated("hours", leaked))
    assert [p.intent for p in cheat.predict(WEAK_HOURS_TEST)] == ["hours"] * 4


# ---- conflict risks: two deliberately overlapping FAQs --------------------------------

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
# candidates generated for "order": the first two really ask to end the subscription
ASKS_SUBSCRIPTION = ["please cancel my monthly subscription", "end my monthly membership plan"]
FAITHFUL = ["cancel the order I placed last week", "I would like to cancel my purchase"]


@pytest.fixture(scope="module")
def embed():
    return LocalEmbeddings().embed_sync


def test_a_candidate_asking_the_other_faq_is_flagged_by_the_classifier():
    risks = conflict_risks(ASKS_SUBSCRIPTION + FAITHFUL, "order", examples(CANCEL))
    for text, risk in zip(ASKS_SUBSCRIPTION, risks):
        assert risk is not None, text
        assert (risk.text, risk.intent, risk.reason) == (text, "subscription", "classifier")
        assert risk.margin >= 0.15
        assert risk.similarity is None and risk.own_similarity is None
    assert risks[2:] == [None, None]


def test_with_embeddings_the_meaning_confirms_the_conflict(embed):
    risks = conflict_risks(ASKS_SUBSCRIPTION + FAITHFUL, "order", examples(CANCEL),
                           embed=embed)
    for risk in risks[:2]:
        assert risk is not None
        assert risk.intent == "subscription" and risk.reason == "both"
        assert risk.similarity >= 0.60
        assert risk.similarity >= risk.own_similarity + 0.05
    assert risks[2:] == [None, None]


def test_meaning_alone_flags_what_a_biased_classifier_lets_through(embed):
    """A classifier that has (wrongly) learnt the candidate as `order` sees no doubt; the
    nearest stored sentence by meaning still belongs to `subscription`."""
    text = ASKS_SUBSCRIPTION[0]
    stored = examples(CANCEL)
    biased = IntentClassifier().fit(stored + examples({"order": [text] * 3}))
    assert biased.predict([text])[0].intent == "order"
    [risk] = conflict_risks([text], "order", stored, classifier=biased, embed=embed)
    assert risk is not None
    assert (risk.intent, risk.reason) == ("subscription", "similarity")
    assert risk.margin < 0.15


def test_no_risk_without_a_second_intent_or_for_an_unknown_own_intent():
    only_order = examples({"order": CANCEL["order"]})
    assert conflict_risks(ASKS_SUBSCRIPTION, "order", only_order) == [None, None]
    assert conflict_risks(ASKS_SUBSCRIPTION, "refund", examples(CANCEL)) == [None, None]
    assert conflict_risks([], "order", examples(CANCEL)) == []


# ---- a big bot: the index is bounded, whatever the bot's size ----------------------------

def test_a_big_bot_keeps_an_even_share_of_each_intent_humans_first():
    stored = (generated("order", [f"cancel order number {i}" for i in range(300)])
              + examples({"order": CANCEL["order"]})
              + examples({"subscription": [f"stop plan {i}" for i in range(50)]}))
    kept = conflicts.representative(stored, limit=40)
    by_intent = {i: [e for e in kept if e.intent == i] for i in ("order", "subscription")}
    assert len(kept) == 40 and all(len(v) == 20 for v in by_intent.values())
    # the five human sentences of `order` come first, before its generated ones
    assert [e.origin for e in by_intent["order"][:5]] == ["human"] * 5
    assert conflicts.representative(stored[:30], limit=40) == stored[:30]


def test_the_bounded_index_still_flags_the_other_faq(monkeypatch, embed):
    """Capped to 6 sentences per intent and to few weights, the overlapping FAQs are still
    told apart: the bounds cost the index its bulk, not its judgement."""
    noise = {f"other {i}": [f"question {i} about topic {i} number {j}" for j in range(20)]
             for i in range(20)}
    stored = examples(CANCEL) + examples(noise)
    monkeypatch.setattr(conflicts, "MAX_EXAMPLES", 23 * 6)
    monkeypatch.setattr(conflicts, "MAX_WEIGHTS", 23 * 1000)
    index = ConflictIndex(stored, embed=embed)
    assert len(index.labels) <= 23 * 6 and len(index.vectors) == len(index.labels)
    assert index.classifier.max_features == 1000
    risks = index.risks(ASKS_SUBSCRIPTION + FAITHFUL, "order")
    assert [r.intent if r else None for r in risks] == ["subscription"] * 2 + [None] * 2
