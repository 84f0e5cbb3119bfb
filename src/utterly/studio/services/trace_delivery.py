"""Whether a run's trace reached its destinations (Langfuse, OTLP), recorded with the run.

The spans leave in batches from a background thread after the run is stored
(observability/tracer.py). The tracer tells when a trace's outcome is known
(`Tracer.delivery`); one thread here writes it into the run's `trace.export.delivered`, so
that the history links to a trace once it is known to be there, and says when it is not.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from ...observability import TracingConfig, get_tracer
from ..models import GenerationRun

log = logging.getLogger("utterly.studio")

# One writer: each write is one short transaction, and the outcomes come from the export
# threads, which must not wait on the database.
_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trace-delivery")


def follow(session_factory, run_id: int, tracing: TracingConfig | None,
           trace_id: str | None) -> None:
    """Record the delivery of the trace `trace_id` into run `run_id` once it is known."""
    if tracing is None or trace_id is None:
        return
    get_tracer(tracing).delivery.watch(trace_id, lambda outcome: _writer.submit(
        _store, session_factory, run_id, outcome))


def _store(session_factory, run_id: int, outcome: dict[str, str]) -> None:
    try:
        with session_factory() as session, session.begin():
            run = session.get(GenerationRun, run_id)
            if run is None or not run.trace:
                return
            export = {**(run.trace.get("export") or {}), "delivered": outcome}
            run.trace = {**run.trace, "export": export}  # a new value: the JSON column sees it
    except Exception as exc:  # the database is gone (shut down); the run stays "pending"
        log.warning("could not record the delivery of run %s's trace (%s)", run_id,
                    type(exc).__name__)


def status(trace: dict | None) -> str | None:
    """The run's trace export as the history shows it: None (not exported), `pending` (not
    known yet: the spans are on their way, or their fate was never known), `sent` (every
    destination took it) or `failed` (one did not)."""
    export = (trace or {}).get("export") or {}
    if not export.get("configured"):
        return None
    delivered = export.get("delivered")
    if not delivered:
        return "pending"
    return "sent" if all(v == "sent" for v in delivered.values()) else "failed"
