"""Two identical imports at the same moment (a double click, two reviewers): both succeed,
each reporting `already_present` for what the other imported; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter

from utterly.studio.models import GenerationRun

TEXTS = [f"Je n'arrive plus à me connecter, essai {i}" for i in range(6)]


def stored_run(world) -> int:
    with world.studio.sessions() as session, session.begin():
        run = GenerationRun(
            bot_id=world.bot, faq_id=world.faq_password, user_id=world.users["bob"],
            status="succeeded", provider="local", model="smollm2-135m", temperature=0.7,
            options={}, latency_s=1.0,
            request={"sentences": ["source"], "locale": "fr", "n": 6, "temperature": 0.7,
                     "options": {}, "seed": None},
            candidates=[{"text": t, "origin": "model", "scores": {}, "variations": []}
                        for t in TEXTS], rejected=[])
        session.add(run)
        session.flush()
        return run.id


def test_identical_imports_at_once_both_succeed_and_import_once(world):
    run_id = stored_run(world)
    path = f"/api/bots/{world.bot}/faqs/{world.faq_password}/import"
    clients = [world.studio.api("bob"), world.studio.api("ada")]
    for text in TEXTS:  # one race per text: each is a fresh insert for both sides
        start = threading.Barrier(2)
        answers = [None, None]

        def send(i: int) -> None:
            start.wait()
            answers[i] = clients[i].post(path, json={"run_id": run_id, "texts": [text]})

        threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        statuses = Counter(a.json()["report"][0]["status"] for a in answers)
        assert statuses == {"imported": 1, "already_present": 1}, statuses
    listed = clients[0].get(f"/api/bots/{world.bot}/faqs/{world.faq_password}/sentences",
                            params={"limit": 100}).json()["items"]
    assert sorted(s["text"] for s in listed if s["text"] in TEXTS) == sorted(TEXTS)
