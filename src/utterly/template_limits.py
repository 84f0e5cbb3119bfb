"""Bounds on rendering a prompt template that someone else wrote: time, memory, output.

A Jinja2 sandbox keeps a template away from Python's internals, not from the CPU: one
`{{ 9**(9**7) }}` is a single C call that holds the GIL for minutes, and nested loops or
a string doubled forty times are as bad. So a template runs

- in an environment whose `**`, `*` and `+` refuse operands that would make huge numbers
  or sequences, whose `range` draws on an iteration budget shared by every loop of the
  render, and whose output is capped;
- in a worker process with a memory limit, which the caller kills when the wall-clock
  limit passes, whatever the worker is doing.

Workers come in pools, one per lane (`rendering(lane=…)`): renders that a request waits
for (a preview) use other workers than a generation's, so that a flood of the former never
delays the latter. Within a pool, when every worker is busy, a freed one goes to the owner
(`rendering(owner=…)`, e.g. a namespace) whose turn it is, round robin, not to whoever
asked first: a hundred renders of one owner delay another owner's by one render at most.

Limits (environment variables of the process that renders; defaults in `Limits`):
UTTERLY_TEMPLATE_TIMEOUT_S, UTTERLY_TEMPLATE_MAX_OUTPUT (characters),
UTTERLY_TEMPLATE_MAX_ITERATIONS, UTTERLY_TEMPLATE_MEMORY_MB.

This file imports nothing of Utterly's: the worker runs it as a script (`python -I`), so
that it starts quickly and sees nothing but the standard library and Jinja2.
"""

from __future__ import annotations

import contextvars
import json
import math
import os
import pickle
import re
import select
import subprocess
import sys
import threading
import time
from collections import OrderedDict, deque
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from functools import lru_cache

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, Undefined, UndefinedError
from jinja2.sandbox import SandboxedEnvironment


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 0.5
    max_output: int = 100_000
    max_iterations: int = 10_000
    memory_mb: int = 512
    # numbers: no result of `**` or `*` beyond this many bits
    max_int_bits: int = 4096
    # An unknown variable is an error (Utterly's templates: a typo must not vanish), or
    # renders empty, as Tock's orchestrator renders its templates (LangChain's jinja2)
    strict_undefined: bool = True

    @classmethod
    def from_env(cls, environ=None) -> "Limits":
        env = os.environ if environ is None else environ
        default = cls()
        return cls(
            timeout_s=float(env.get("UTTERLY_TEMPLATE_TIMEOUT_S") or default.timeout_s),
            max_output=int(env.get("UTTERLY_TEMPLATE_MAX_OUTPUT") or default.max_output),
            max_iterations=int(env.get("UTTERLY_TEMPLATE_MAX_ITERATIONS")
                               or default.max_iterations),
            memory_mb=int(env.get("UTTERLY_TEMPLATE_MEMORY_MB") or default.memory_mb))


class TooCostly(Exception):
    """The template would take more time, memory or output than the limits allow."""


class RenderFailed(Exception):
    """The template cannot be rendered. `kind`: "undefined" or "template". `message` is
    Jinja2's (English); `params` say the same for a caller that words it itself:
    `problem` (undefined, syntax, unexpected, unclosed, unknown_tag or runtime) and, when
    known, `line`, the unknown variable's `name`, the unexpected `token` or the `tag`."""

    def __init__(self, kind: str, message: str, params: dict | None = None):
        super().__init__(message)
        self.kind, self.message = kind, message
        self.params = dict(params or {"problem": "runtime"})


# Jinja2's syntax errors, by their words: (pattern, problem, the group's param)
_SYNTAX = [(re.compile(r"^unexpected end of template", re.I), "unclosed", None),
           (re.compile(r"^Encountered unknown tag '([^']+)'"), "unknown_tag", "tag"),
           (re.compile(r"^unexpected char '(.+?)'"), "unexpected", "token"),
           (re.compile(r"^unexpected '(.+?)'"), "unexpected", "token"),
           (re.compile(r"expected token '[^']+', got '(.+?)'"), "unexpected", "token")]
_UNDEFINED = [re.compile(r"has no attribute '([^']+)'"), re.compile(r"^'([^']+)' is undefined")]


def _syntax_params(exc: TemplateSyntaxError) -> dict:
    params = {"problem": "syntax", "line": exc.lineno}
    for pattern, problem, name in _SYNTAX:
        match = pattern.search(exc.message or "")
        if match:
            params["problem"] = problem
            if name:
                params[name] = match.group(1)[:40]
            break
    return params


def _undefined_params(message: str) -> dict:
    for pattern in _UNDEFINED:
        match = pattern.search(message)
        if match:
            return {"problem": "undefined", "name": match.group(1)[:60]}
    return {"problem": "undefined"}


# ---- the environment -------------------------------------------------------------------

_budget: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("budget",
                                                                          default=None)


def _charge(iterations: int) -> None:
    budget = _budget.get()
    if budget is None:
        return
    budget[0] -= iterations
    if budget[0] < 0:
        raise TooCostly("the template's loops would run too many times")


def _size(value) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


class LimitedEnvironment(SandboxedEnvironment):
    """The sandbox, with operands, loops and output bounded (see the module's doc)."""

    # Intercepted operators are also never folded at compile time, where `9**(9**7)`
    # would otherwise be computed by the compiler itself.
    intercepted_binops = frozenset({"**", "*", "+"})

    def __init__(self, limits: Limits, **options):
        super().__init__(undefined=StrictUndefined if limits.strict_undefined else Undefined,
                         autoescape=False, **options)
        self.limits = limits
        self.globals.pop("lipsum", None)  # lipsum(n) writes n paragraphs
        self.globals["range"] = self._range

    def _range(self, *args: int) -> range:
        rng = range(*args)
        _charge(len(rng))
        return rng

    def call_binop(self, context, operator: str, left, right):
        bits, items = self.limits.max_int_bits, self.limits.max_output
        ints = (isinstance(left, int) and isinstance(right, int))
        if operator == "**" and ints and right > 0 and abs(left) > 1 \
                and right * math.log2(abs(left)) > bits:
            raise TooCostly(f"`**` would make a number of more than {bits} bits")
        if operator == "*":
            if ints and left.bit_length() + right.bit_length() > bits:
                raise TooCostly(f"`*` would make a number of more than {bits} bits")
            for seq, times in ((left, right), (right, left)):
                if _size(seq) is not None and isinstance(times, int) \
                        and _size(seq) * times > items:
                    raise TooCostly(f"`*` would make a sequence of more than {items} items")
        if operator == "+" and _size(left) is not None and _size(right) is not None \
                and _size(left) + _size(right) > items:
            raise TooCostly(f"`+` would make a sequence of more than {items} items")
        return super().call_binop(context, operator, left, right)


@lru_cache(maxsize=8)
def environment(limits: Limits) -> LimitedEnvironment:
    return LimitedEnvironment(limits, trim_blocks=False, keep_trailing_newline=False)


@lru_cache(maxsize=64)
def _compile(limits: Limits, template: str):
    # Compiling costs more than rendering; the same few templates serve every request.
    return environment(limits).from_string(template)


def render_here(template: str, context: dict, limits: Limits) -> str:
    """Render in this process with the operand, loop and output limits, but no clock: for
    templates that this program ships. Raises TooCostly or RenderFailed."""
    token = _budget.set([limits.max_iterations])
    try:
        out, size = [], 0
        for chunk in _compile(limits, template).generate(**context):
            size += len(chunk)
            if size > limits.max_output:
                raise TooCostly(f"the template writes more than {limits.max_output} "
                                "characters")
            out.append(chunk)
        return "".join(out)
    except (TooCostly, RenderFailed):
        raise
    except (MemoryError, RecursionError, OverflowError) as exc:
        raise TooCostly(f"the template is too costly to render ({type(exc).__name__})") \
            from None
    except UndefinedError as exc:
        message = exc.message or str(exc)
        raise RenderFailed("undefined", message, _undefined_params(message)) from None
    except TemplateSyntaxError as exc:
        raise RenderFailed("template", str(exc), _syntax_params(exc)) from None
    except TemplateError as exc:
        raise RenderFailed("template", str(exc)) from None
    except Exception as exc:  # a template can raise anything: 1/0, int('x'), …
        raise RenderFailed("template", f"{type(exc).__name__}: {exc}"[:500]) from None
    finally:
        _budget.reset(token)


# ---- the worker process ----------------------------------------------------------------

def _send(stream, data: bytes) -> None:
    stream.write(len(data).to_bytes(4, "big") + data)
    stream.flush()


WORKER_NICENESS = 10


def _serve(limits: Limits) -> None:
    """The worker's loop: a pickled (template, context) in, a JSON answer out."""
    import resource

    limit = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # A template burns the CPU until its wall clock passes; the server that waits for it
    # keeps answering everyone else first.
    os.nice(WORKER_NICENESS)
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but answers on the pipe
    _send(answers, b"")  # ready
    while True:
        header = requests.read(4)
        if len(header) < 4:
            return  # the parent went away
        template, context = pickle.loads(requests.read(int.from_bytes(header, "big")))
        try:
            answer = {"text": render_here(template, context, limits)}
        except TooCostly as exc:
            answer = {"error": "too_costly", "message": str(exc)}
        except RenderFailed as exc:
            answer = {"error": exc.kind, "message": exc.message, "params": exc.params}
        except MemoryError:
            answer = {"error": "too_costly", "message": "the template needs too much memory"}
        # JSON, not pickle, on the way back: the parent must not unpickle what a template
        # running here could have shaped.
        _send(answers, json.dumps(answer).encode())


STARTUP_TIMEOUT_S = 30.0


class _Worker:
    def __init__(self, limits: Limits):
        self.limits = limits
        self.proc = subprocess.Popen(
            [sys.executable, "-I", os.path.abspath(__file__), json.dumps(asdict(limits))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            close_fds=True)
        # Starting Python is not the template's cost: its clock starts once this is ready.
        try:
            if self._read(4, time.monotonic() + STARTUP_TIMEOUT_S) != bytes(4):
                raise BrokenPipeError("the template worker did not start")
        except BaseException:
            self.kill()
            raise

    def ask(self, template: str, context: dict, deadline: float) -> dict:
        """The worker's answer, or TooCostly when the deadline passes first."""
        _send(self.proc.stdin, pickle.dumps((template, context)))
        header = self._read(4, deadline)
        size = int.from_bytes(header, "big")
        if size > 8 * self.limits.max_output + 4096:
            raise BrokenPipeError("oversized answer")
        return json.loads(self._read(size, deadline))

    def _read(self, size: int, deadline: float) -> bytes:
        fd, data = self.proc.stdout.fileno(), b""
        while len(data) < size:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TooCostly("the template takes too long to render")
            chunk = os.read(fd, size - len(data))
            if not chunk:
                raise BrokenPipeError("the template worker exited")
            data += chunk
        return data

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            stream.close()


class FairSlots:
    """At most `size` holders. When all are taken, a freed slot goes to the waiting owner
    whose turn it is (round robin over owners), so that no owner waits behind another's
    backlog, however long."""

    def __init__(self, size: int):
        self.size = size
        self._busy = 0
        self._lock = threading.Lock()
        self._waiting: OrderedDict[object, deque[threading.Event]] = OrderedDict()

    def acquire(self, owner: object = None) -> None:
        with self._lock:
            if self._busy < self.size and not self._waiting:
                self._busy += 1
                return
            turn = threading.Event()
            self._waiting.setdefault(owner, deque()).append(turn)
        turn.wait()  # the releaser handed its slot over: `_busy` already counts it

    def release(self) -> None:
        with self._lock:
            if not self._waiting:
                self._busy -= 1
                return
            owner, queue = next(iter(self._waiting.items()))
            turn = queue.popleft()
            del self._waiting[owner]
            if queue:  # to the back of the round
                self._waiting[owner] = queue
            turn.set()


class WorkerPool:
    """`size` worker processes, started on first use and reused; one that passed its
    deadline or failed is killed. Workers are started ahead, in the background, up to
    `size`: the next render, often someone else's than the one that killed a worker, finds
    one ready rather than paying for Python's start (a second or more on a busy machine)."""

    def __init__(self, limits: Limits, size: int = 4):
        self.limits = limits
        self.size = size
        self._free: list[_Worker] = []
        self._workers = 0  # alive or starting
        self._slots = FairSlots(size)
        self._lock = threading.Lock()
        self._closed = False

    def _top_up(self) -> None:
        with self._lock:
            missing = 0 if self._closed else max(0, self.size - self._workers)
            self._workers += missing
        for _ in range(missing):
            threading.Thread(target=self._start_ahead, daemon=True,
                             name="template-worker-start").start()

    def _start_ahead(self) -> None:
        try:
            worker = _Worker(self.limits)
        except (OSError, TooCostly):
            with self._lock:
                self._workers -= 1  # the next render starts one itself
            return
        self._keep(worker)

    def _keep(self, worker: _Worker) -> None:
        with self._lock:
            if not self._closed and len(self._free) < self.size:
                self._free.append(worker)
                return
        self._discard(worker, replace=False)

    def _discard(self, worker: _Worker, replace: bool = True) -> None:
        worker.kill()
        with self._lock:
            self._workers -= 1
        if replace:
            self._top_up()

    def _take(self) -> _Worker:
        while True:
            with self._lock:
                worker = self._free.pop() if self._free else None
                if worker is None:
                    self._workers += 1
            if worker is None:
                try:
                    return _Worker(self.limits)
                except BaseException:
                    with self._lock:
                        self._workers -= 1
                    raise
            if worker.proc.poll() is None:
                return worker
            self._discard(worker, replace=False)  # died while idle

    def render(self, template: str, context: dict, owner: object = None) -> str:
        """Raises TooCostly or RenderFailed. `owner`: whose turn a waiting render takes."""
        self._slots.acquire(owner)
        try:
            worker = self._take()
            self._top_up()
            deadline = time.monotonic() + self.limits.timeout_s
            try:
                answer = worker.ask(template, context, deadline)
            except (TooCostly, OSError, ValueError):
                self._discard(worker)
                raise TooCostly("the template takes too long or too much memory to "
                                "render") from None
            if answer.get("error") == "too_costly":
                self._discard(worker)  # whatever it ran out of, start afresh
            else:
                self._keep(worker)
        finally:
            self._slots.release()
        if "text" in answer:
            return answer["text"]
        if answer["error"] == "too_costly":
            raise TooCostly(answer["message"])
        raise RenderFailed(answer["error"], answer["message"], answer.get("params"))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._free = self._free, []
        for worker in workers:
            worker.kill()


DEFAULT_LANE = "default"
_lane: contextvars.ContextVar[str] = contextvars.ContextVar("template_lane",
                                                           default=DEFAULT_LANE)
_owner: contextvars.ContextVar[object] = contextvars.ContextVar("template_owner", default=None)
_lane_sizes: dict[str, int] = {DEFAULT_LANE: 4}
_pools: dict[tuple[str, bool], WorkerPool] = {}
_pool_lock = threading.Lock()


def set_lane_size(lane: str, size: int) -> None:
    """The worker processes of `lane` (4 unless set)."""
    with _pool_lock:
        _lane_sizes[lane] = max(1, int(size))


@contextmanager
def rendering(*, lane: str | None = None, owner: object = None):
    """Renders in this block (this thread, or the tasks it starts) use `lane`'s workers
    and wait their turn as `owner`."""
    tokens = [_owner.set(owner)]
    if lane is not None:
        tokens.append(_lane.set(lane))
    try:
        yield
    finally:
        for token in reversed(tokens):
            token.var.reset(token)


def render_limited(template: str, context: dict, *, strict_undefined: bool = True) -> str:
    """Render a template someone else wrote, within the limits of this process's
    environment. Raises TooCostly or RenderFailed."""
    lane = _lane.get()
    with _pool_lock:
        limits = replace(Limits.from_env(), strict_undefined=strict_undefined)
        size = _lane_sizes.get(lane, _lane_sizes[DEFAULT_LANE])
        pool = _pools.get((lane, strict_undefined))
        if pool is None or pool.limits != limits or pool.size != size:
            if pool is not None:
                pool.close()
            pool = _pools[(lane, strict_undefined)] = WorkerPool(limits, size)
    return pool.render(template, context, _owner.get())


if __name__ == "__main__":
    _serve(Limits(**json.loads(sys.argv[1])))
