"""Row 5: the last-admin rule holds under concurrency, on SQLite and PostgreSQL.

The attack (or accident): two admins demote each other at the same moment; each request
counted two admins, each went ahead, and the namespace was left with none.
"""

from __future__ import annotations

import threading

from utterly.studio.models import Membership


def both_admins(world) -> None:
    with world.studio.sessions() as session, session.begin():
        for m in session.query(Membership).filter_by(namespace_id=world.acme):
            if m.user_id in (world.users["ada"], world.users["vic"]):
                m.role = "admin"
            else:
                m.role = "bot_user"


def admins(world) -> list[int]:
    with world.studio.sessions() as session:
        return sorted(m.user_id for m in session.query(Membership).filter_by(
            namespace_id=world.acme, role="admin"))


def test_two_admins_demoting_each_other_at_once_leave_one_admin(world):
    ada, vic = world.studio.api("ada"), world.studio.api("vic")
    url = f"/api/namespaces/{world.acme}/members/" + "{}"
    for round_ in range(12):
        both_admins(world)
        barrier = threading.Barrier(2)
        statuses: dict[str, int] = {}

        def demote(name, client, target):
            barrier.wait()
            statuses[name] = client.patch(url.format(world.users[target]),
                                          json={"role": "viewer"}).status_code

        threads = [threading.Thread(target=demote, args=("ada", ada, "vic")),
                   threading.Thread(target=demote, args=("vic", vic, "ada"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(admins(world)) == 1, (round_, statuses, admins(world))
        assert sorted(statuses.values()) in ([200, 403], [200, 409]), statuses


def test_removing_each_other_at_once_leaves_one_admin(world):
    ada, vic = world.studio.api("ada"), world.studio.api("vic")
    url = f"/api/namespaces/{world.acme}/members/" + "{}"
    for round_ in range(6):
        both_admins(world)
        with world.studio.sessions() as session, session.begin():
            for name in ("ada", "vic"):  # removed members come back for the next round
                if not session.query(Membership).filter_by(
                        namespace_id=world.acme, user_id=world.users[name]).count():
                    session.add(Membership(namespace_id=world.acme,
                                           user_id=world.users[name], role="admin"))
        barrier = threading.Barrier(2)

        def remove(client, target):
            barrier.wait()
            client.delete(url.format(world.users[target]))

        threads = [threading.Thread(target=remove, args=(ada, "vic")),
                   threading.Thread(target=remove, args=(vic, "ada"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(admins(world)) == 1, (round_, admins(world))
