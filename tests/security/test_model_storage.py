"""Row 11: NLU models are stored in a format that cannot run code when loaded.

The attack: whoever can write the nlu_models table (an SQL injection elsewhere, a shared
database, a restored dump) stores a pickle whose loading runs a command; the next parse
request loaded it.
"""

from __future__ import annotations

import io
import os
import pickle

import numpy as np
import pytest
from sqlalchemy import select

from tests.studio.conftest import problem
from tests.studio.test_nlu_studio import PARCEL_MORE, PASSWORD_MORE, add_sentences
from utterly.nlu import Example, IntentClassifier
from utterly.studio.models import NluModel


class Payload:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def trained(world) -> None:
    add_sentences(world, world.faq_password, PASSWORD_MORE)
    add_sentences(world, world.faq_parcel, PARCEL_MORE)
    response = world.studio.api("bob").post(f"/api/bots/{world.bot}/nlu/train", json={})
    assert response.status_code == 200, response.text


def stored(world) -> NluModel:
    with world.studio.sessions() as session:
        return session.scalar(select(NluModel).where(NluModel.bot_id == world.bot))


def test_a_stored_model_is_arrays_and_words_not_a_pickle(world):
    trained(world)
    data = stored(world).model
    assert data[:4] == b"PK\x03\x04"  # an .npz archive
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        assert {"meta", "classes", "coef", "intercept"} <= set(arrays.files)
        assert all(arrays[name].dtype != object for name in arrays.files)
    parsed = world.studio.api("vic").post(f"/api/bots/{world.bot}/nlu/parse",
                                          json={"text": "j'ai perdu mon mot de passe"})
    assert parsed.status_code == 200 and parsed.json()["intent"]["faq_id"] == world.faq_password


@pytest.mark.parametrize("shape", ["pickle", "joblib-like", "npz with an object array"])
def test_a_malicious_model_in_the_database_runs_nothing(world, tmp_path, shape):
    trained(world)
    marker = tmp_path / f"pwned-{shape.replace(' ', '-')}"
    if shape == "pickle":
        data = pickle.dumps(Payload(str(marker)))
    elif shape == "joblib-like":
        data = pickle.dumps({"features": "tfidf", "model": Payload(str(marker))}, protocol=4)
    else:
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.array([Payload(str(marker))], dtype=object))
        data = buffer.getvalue()
    with world.studio.sessions() as session, session.begin():
        session.scalar(select(NluModel).where(NluModel.bot_id == world.bot)).model = data
    response = world.studio.api("vic").post(f"/api/bots/{world.bot}/nlu/parse",
                                            json={"text": "où est mon colis"})
    assert problem(response, 409)["code"] == "model_not_trained"
    assert not marker.exists()
    with pytest.raises(Exception):
        IntentClassifier.from_bytes(data)
    assert not marker.exists()


def test_the_stored_form_predicts_as_the_trained_model():
    examples = [Example(t, i) for i, ts in {
        "a": ["où est mon colis", "mon colis est perdu", "suivre ma commande"],
        "b": ["mot de passe oublié", "réinitialiser le mot de passe", "mdp perdu"],
        "c": ["vos horaires", "vous ouvrez quand", "heures d'ouverture"]}.items() for t in ts]
    for features in ("tfidf",):
        clf = IntentClassifier(features).fit(examples)
        loaded = IntentClassifier.from_bytes(clf.to_bytes())
        texts = ["colis perdu", "mdp", "ouvert le dimanche ?"]
        assert np.allclose(loaded.probabilities(texts), clf.probabilities(texts))
        assert loaded.intents == clf.intents and loaded.trained_on == clf.trained_on
