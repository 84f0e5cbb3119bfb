"""Utterly: generate the training sentences of NLU chatbots with LLMs.

    import utterly
    result = utterly.generate("Comment réinitialiser mon mot de passe ?", locale="fr", n=5)

Names are imported on first use, so `import utterly` (and the CLI's --help) stays fast.
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "generate": "generation", "agenerate": "generation", "aprepare": "generation",
    "ErrorCode": "errors", "InvalidRequest": "errors", "ProviderError": "errors",
    "UtterlyError": "errors",
    "PipelineSettings": "pipeline",
    "ProviderConfig": "providers.base",
    "GenerationRequest": "request", "OtherIntent": "request", "VariationOptions": "request",
    "GenerationResult": "result", "Origin": "result", "RejectReason": "result",
    "Rejection": "result", "Sentence": "result", "Usage": "result",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'utterly' has no attribute {name!r}")
