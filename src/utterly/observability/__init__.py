"""Tracing of generations: OpenTelemetry spans (GenAI conventions) to Langfuse and any OTLP
backend, quality scores, and the cost of each model call.

The pipeline asks `spans.span(...)` for spans; they are no-ops unless a trace is open, so
nothing here costs anything when tracing is off.
"""

from .config import TracingConfig
from .pricing import cost_of, total_cost
from .tracer import Tracer, get_tracer, shutdown_all

__all__ = ["TracingConfig", "Tracer", "cost_of", "get_tracer", "shutdown_all", "total_cost"]
