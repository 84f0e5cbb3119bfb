"""Utterly: generate the training sentences of NLU chatbots with LLMs."""

__version__ = "0.1.0"
