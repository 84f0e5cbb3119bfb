"""A generation waiting its turn for the model says where it stands (utterly.waiting): the
embedded model's turns (first come, first served, each waiter told its place) and the
gates of remote endpoints, whose waiting calls are placed in the order they came."""

from __future__ import annotations

import asyncio
import threading
import time

from utterly import waiting
from utterly.providers.gate import LocalGate, SharedCount
from utterly.providers.turns import Turns


def test_turns_serve_in_the_order_asked_and_tell_each_its_place():
    turns = Turns()
    assert turns.acquire()  # another generation holds the model
    served: list[str] = []
    places: dict[str, list[int]] = {"first": [], "second": []}

    def wait(name: str) -> None:
        assert turns.take(on_place=places[name].append, poll_s=0.01)
        served.append(name)
        time.sleep(0.05)  # it writes for a while
        turns.release()

    first = threading.Thread(target=wait, args=("first",))
    first.start()
    while turns.waiting() < 1:
        time.sleep(0.01)
    second = threading.Thread(target=wait, args=("second",))
    second.start()
    while turns.waiting() < 2:
        time.sleep(0.01)
    time.sleep(0.05)  # both have looked a few times
    turns.release()
    first.join(5)
    second.join(5)
    assert served == ["first", "second"]
    assert set(places["first"]) == {1}
    # second in line, then next once the first was served
    assert places["second"][0] == 2 and places["second"][-1] == 1


def test_a_turn_waited_for_can_be_given_up():
    turns = Turns()
    turns.acquire()
    asked = time.monotonic()
    assert not turns.take(should_stop=lambda: time.monotonic() > asked + 0.1, poll_s=0.01)
    assert turns.waiting() == 0  # it left the line
    assert not turns.acquire(blocking=False)
    turns.release()
    assert turns.acquire(blocking=False)


def test_a_wait_is_told_to_the_listener_on_changes_only():
    heard: list[dict] = []
    with waiting.listening(heard.append):
        wait = waiting.Wait(waiting.MODEL)
        for place in (3, 3, 2, 1, 1):
            wait.place(place)
        wait.over()
    assert heard == [{"event": "waiting", "reason": "model", "place": p} for p in (3, 2, 1)] \
        + [{"event": "waited", "reason": "model"}]
    # outside a listening block, and for a call that never waited, nothing is said
    silent = waiting.Wait(waiting.MODEL)
    silent.place(1)
    silent.over()
    with waiting.listening(heard.append):
        waiting.Wait(waiting.SLOTS).over()
    assert len(heard) == 4


def test_calls_waiting_at_a_full_gate_are_placed_in_the_order_they_came():
    count = SharedCount()
    heard: dict[str, list[dict]] = {"a": [], "b": [], "bulk": []}

    async def scenario() -> list[str]:
        holder = LocalGate(count, 1, caller="bot1", tenant="ns1")
        order: list[str] = []

        async def call(name: str, after_s: float, bulk: bool = False) -> None:
            await asyncio.sleep(after_s)
            gate = LocalGate(count, 1, caller=f"bot-{name}", tenant="ns1", bulk=bulk)
            with waiting.listening(heard[name].append):
                async with gate.slot():
                    order.append(name)
                    await asyncio.sleep(0.05)

        async with holder.slot():
            calls = asyncio.gather(call("bulk", 0, bulk=True), call("a", 0.05),
                                   call("b", 0.1))
            await asyncio.sleep(0.3)
        await calls
        return order

    order = asyncio.run(scenario())
    assert order[-1] == "bulk"  # the interactive calls first
    places = {name: [e["place"] for e in events if e["event"] == "waiting"]
              for name, events in heard.items()}
    # in the order they came: the place is not a promise (whichever interactive call
    # looks first takes a freed slot), but it counts who is ahead
    assert places["a"] == [1] and places["b"][0] == 2
    # the bulk call came first, and is put behind the interactive ones that came after it
    assert places["bulk"][0] == 1 and 3 in places["bulk"]
    assert all(events[-1] == {"event": "waited", "reason": "slots"}
               for events in heard.values())
    assert count.line == []  # nobody left in line
