"""A flood of requests from another process, as an attacker's machine would send them: its
client threads must not share the GIL of the server under test.

    python -m tests.security.flood_client URL PATH TOKEN BODY_JSON THREADS WAVES

WAVES waves of THREADS identical POSTs of BODY_JSON (GETs when it is `-`) sent at once, the
next wave once the whole wave is answered. Prints `ready` once its clients are made, then,
at the end, one JSON line: per answer [status, code, seconds, Retry-After, detail].
"""

from __future__ import annotations

import json
import sys
import threading
import time

import httpx


def main(url: str, path: str, token: str, body: str, threads: int, waves: int) -> None:
    payload = json.loads(body) if body != "-" else None
    clients = [httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                            timeout=120) for _ in range(threads)]
    answers: list[list] = []
    lock = threading.Lock()
    wave = threading.Barrier(threads)

    def send(client: httpx.Client) -> httpx.Response:
        for attempt in range(3):
            try:
                return (client.post(path, json=payload) if payload is not None
                        else client.get(path))
            except httpx.TransportError:
                # the server closed the kept-alive connection while this client waited for
                # its wave (its keep-alive is 1 s): send again on a new one
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def attacker(client: httpx.Client) -> None:
        for _ in range(waves):
            try:
                wave.wait(timeout=300)
            except threading.BrokenBarrierError:
                return
            started = time.monotonic()
            try:
                response = send(client)
            except Exception:
                wave.abort()  # no wave waits for this thread any more
                raise
            elapsed = time.monotonic() - started
            problem = response.json() if response.status_code != 200 else {}
            with lock:
                answers.append([response.status_code, problem.get("code"), elapsed,
                                response.headers.get("Retry-After"), problem.get("detail")])

    workers = [threading.Thread(target=attacker, args=(c,)) for c in clients]
    print("ready", flush=True)
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for client in clients:
        client.close()
    print(json.dumps(answers), flush=True)


if __name__ == "__main__":
    url, path, token, body, threads, waves = sys.argv[1:7]
    main(url, path, token, body, int(threads), int(waves))
