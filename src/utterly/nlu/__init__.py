"""The NLU loop: an intent classifier trained on a bot's sentences, an evaluation that
compares human-only and human + generated training side by side, and the conflict check
that flags generated sentences closer to another intent than to their own.

No HTTP, no database: lists of examples in, numbers out.
"""

from .classifier import DEFAULT_UNKNOWN_THRESHOLD, Example, IntentClassifier, Prediction
from .conflicts import ConflictIndex, ConflictRisk, conflict_risks
from .evaluate import Comparison, compare

__all__ = ["DEFAULT_UNKNOWN_THRESHOLD", "Comparison", "ConflictIndex", "ConflictRisk",
           "Example", "IntentClassifier", "Prediction", "compare", "conflict_risks"]
