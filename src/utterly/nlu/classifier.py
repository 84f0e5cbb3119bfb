"""A built-in intent classifier: TF-IDF on characters and words into a linear model.

Characters catch typos and SMS spellings ("mdp", "oubliay"), words catch phrasing; a
logistic regression gives calibrated-enough probabilities for the runners-up and margins.
Optionally the features are sentence embeddings instead (`features="embeddings"`).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline

from ..errors import InvalidRequest
from ..normalize import normalize

FEATURES = ("tfidf", "embeddings")


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    locale: str = ""
    origin: str = "human"  # human | generated


# Below this confidence a parse answers "unknown": the sentence is out of scope. The
# probabilities spread over the bot's intents, so a bot with few FAQs gives even an
# unrelated sentence ~0.5-0.8 ("quel temps fait-il ?" → a delivery FAQ at 0.78 with 2 FAQs,
# 0.49 with 3) while a clear paraphrase scores above 0.9: tune it on the bot's own sentences.
DEFAULT_UNKNOWN_THRESHOLD = 0.6


@dataclass
class Prediction:
    text: str
    intent: str
    confidence: float
    # the best intents, best first: [(intent, probability), ...]
    ranking: list[tuple[str, float]]

    def unknown(self, threshold: float = DEFAULT_UNKNOWN_THRESHOLD) -> bool:
        """True when even the best intent is below `threshold`: answer "out of scope"."""
        return self.confidence < threshold


def _tfidf(max_features: int | None = None):
    # a cap keeps the most frequent n-grams, four character ones for one word one
    chars = words = None
    if max_features is not None:
        chars, words = max_features * 4 // 5, max(1, max_features // 5)
    return FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                  preprocessor=normalize, min_df=1, max_features=chars)),
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                  preprocessor=normalize, token_pattern=r"(?u)\b\w+\b",
                                  max_features=words)),
    ])


class _Embedder:
    """Sentence embeddings as a scikit-learn transformer (the local multilingual model)."""

    def __init__(self, model: str | None = None):
        self.model = model

    def fit(self, texts, y=None):
        return self

    def transform(self, texts):
        from ..embeddings.local import LocalEmbeddings

        return LocalEmbeddings(self.model).embed_sync(list(texts))

    def get_params(self, deep=True):
        return {"model": self.model}

    def set_params(self, **params):
        self.model = params.get("model", self.model)
        return self


class IntentClassifier:
    def __init__(self, features: str = "tfidf", c: float = 10.0, seed: int = 0,
                 max_features: int | None = None):
        if features not in FEATURES:
            raise InvalidRequest(f"unknown features {features!r}", field="features",
                                 reason="literal_error",
                                 hint="use " + " or ".join(FEATURES))
        self.features = features
        self.c = c
        self.seed = seed
        # The coefficients are intents × features: on a big bot, uncapped, they fill memory.
        self.max_features = max_features
        self._model = None
        self.intents: list[str] = []
        self.trained_on = 0

    def fit(self, examples: list[Example]) -> "IntentClassifier":
        intents = sorted({e.intent for e in examples})
        if len(intents) < 2:
            raise InvalidRequest(
                "training needs sentences of at least 2 intents (FAQs)", field="sentences",
                reason="two_faqs_needed",
                hint="add sentences to a second FAQ")
        vectorize = _tfidf(self.max_features) if self.features == "tfidf" else _Embedder()
        self._model = make_pipeline(vectorize, LogisticRegression(
            C=self.c, max_iter=3000, random_state=self.seed))
        self._model.fit([e.text for e in examples], [e.intent for e in examples])
        self.intents = list(self._model.classes_)
        self.trained_on = len(examples)
        return self

    def _require_fit(self):
        if self._model is None:
            raise InvalidRequest("the classifier is not trained", field="model",
                                 reason="model_not_trained",
                                 hint="train it first (utterly nlu train)")

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """(len(texts), len(self.intents)) probabilities, columns in `self.intents` order."""
        self._require_fit()
        return self._model.predict_proba(list(texts))

    def predict(self, texts: list[str], top: int = 5) -> list[Prediction]:
        probs = self.probabilities(texts)
        out = []
        for text, row in zip(texts, probs):
            order = np.argsort(-row)[:top]
            ranking = [(self.intents[i], round(float(row[i]), 4)) for i in order]
            out.append(Prediction(text=text, intent=ranking[0][0], confidence=ranking[0][1],
                                  ranking=ranking))
        return out

    # Stored as numbers and words only (an .npz read with allow_pickle=False), never as a
    # pickle: loading a model from the database must not be able to run code.
    FORMAT = "utterly.intent-classifier/1"

    def to_bytes(self) -> bytes:
        """The fitted model as arrays: vocabularies, idf weights, coefficients."""
        self._require_fit()
        vectorize, regression = self._model.steps[0][1], self._model.steps[1][1]
        meta = {"format": self.FORMAT, "features": self.features, "c": self.c,
                "seed": self.seed, "trained_on": self.trained_on}
        arrays = {"classes": np.array(regression.classes_, dtype=str),
                  "coef": regression.coef_, "intercept": regression.intercept_}
        if self.features == "tfidf":
            for name, vectorizer in vectorize.transformer_list:
                terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
                arrays[f"{name}_terms"] = np.array(terms, dtype=str)
                arrays[f"{name}_idf"] = vectorizer.idf_
        buffer = io.BytesIO()
        np.savez_compressed(buffer, meta=np.array(json.dumps(meta)), **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "IntentClassifier":
        """A model from `to_bytes`; InvalidRequest for anything else (a pickle included,
        which is refused, not loaded)."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
            meta = json.loads(str(arrays.pop("meta")))
            if meta.get("format") != cls.FORMAT:
                raise ValueError(meta.get("format"))
            clf = cls(meta["features"], float(meta["c"]), int(meta["seed"]))
            regression = LogisticRegression(C=clf.c, max_iter=3000, random_state=clf.seed)
            regression.classes_ = arrays["classes"].astype(object)
            regression.coef_ = arrays["coef"].astype(np.float64)
            regression.intercept_ = arrays["intercept"].astype(np.float64)
            if clf.features == "tfidf":
                vectorize = _tfidf()
                for name, vectorizer in vectorize.transformer_list:
                    terms = [str(t) for t in arrays[f"{name}_terms"]]
                    vectorizer.vocabulary_ = {t: i for i, t in enumerate(terms)}
                    vectorizer.fixed_vocabulary_ = True
                    vectorizer.idf_ = arrays[f"{name}_idf"].astype(np.float64)
                width = sum(len(v.vocabulary_) for _, v in vectorize.transformer_list)
            else:
                vectorize = _Embedder()
                width = regression.coef_.shape[1]
            if regression.coef_.shape != (1 if len(regression.classes_) == 2
                                          else len(regression.classes_), width):
                raise ValueError("coefficients of the wrong shape")
            regression.n_features_in_ = width
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile,
                json.JSONDecodeError):
            raise InvalidRequest("the stored intent model cannot be read", field="model",
                                 reason="model_unreadable",
                                 hint="train it again") from None
        clf._model = make_pipeline(vectorize, regression)
        clf.intents = [str(c) for c in regression.classes_]
        clf.trained_on = int(meta["trained_on"])
        return clf
