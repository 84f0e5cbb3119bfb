"""Pytest fixtures for the wire-protocol servers. Enable with
`pytest_plugins = ["tests.servers.fixtures"]` in tests/conftest.py.

All are session-scoped: one SmolLM2 load (shared with LocalProvider's process-wide cache),
one e5 model, one server of each kind, one llama.cpp server subprocess.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import pytest

from .backends import TEST_MODEL, e5_embed_backend, local_chat_backend
from .run import ASGIServer, free_port, python_module_args, run_subprocess

AZURE_TEST_KEY = "azure-test-key-0123456789abcdef"
OLLAMA_CHAT_MODEL = "smollm2:135m"
OLLAMA_EMBED_MODEL = "nomic-embed-text:latest"
AZURE_CHAT_DEPLOYMENT = "gpt-4o-mini-prod"
AZURE_EMBED_DEPLOYMENT = "embeddings-small"


@dataclass
class RunningServer:
    url: str
    app: object

    @property
    def state(self):
        return self.app.state


@pytest.fixture(scope="session")
def chat_backend():
    return local_chat_backend()


@pytest.fixture(scope="session")
def embed_backend():
    return e5_embed_backend()


@pytest.fixture(scope="session")
def ollama_server(chat_backend, embed_backend):
    from .ollama_server import OllamaModel, create_app

    app = create_app([
        OllamaModel(OLLAMA_CHAT_MODEL, chat=chat_backend),
        OllamaModel(OLLAMA_EMBED_MODEL, embed=embed_backend, family="nomic-bert",
                    parameter_size="137M"),
    ])
    with ASGIServer(app) as url:
        yield RunningServer(url, app)


@pytest.fixture(scope="session")
def azure_server(chat_backend, embed_backend):
    from .azure_server import Deployment, create_app

    app = create_app([
        Deployment(AZURE_CHAT_DEPLOYMENT, model="gpt-4o-mini", chat=chat_backend),
        Deployment(AZURE_EMBED_DEPLOYMENT, model="text-embedding-3-small", embed=embed_backend),
    ], api_key=AZURE_TEST_KEY)
    with ASGIServer(app) as url:
        yield RunningServer(url, app)


@pytest.fixture(scope="session")
def faulty_server():
    from .faulty_server import create_app

    app = create_app()
    with ASGIServer(app) as url:
        yield RunningServer(url, app)


@pytest.fixture(scope="session")
def llama_cpp_server():
    """llama-cpp-python's own OpenAI-compatible server on SmolLM2-135M; yields its /v1 URL."""
    pytest.importorskip("llama_cpp.server.app",
                        reason="llama.cpp's server needs the test extra (fastapi, "
                               "sse-starlette, starlette-context, pydantic-settings)")
    from utterly.catalogue import resolve_model_path

    _, path = resolve_model_path(TEST_MODEL)
    port = free_port()
    log = os.path.join(tempfile.gettempdir(), f"utterly-llama-server-{port}.log")
    args = python_module_args("llama_cpp.server", "--model", str(path),
                              "--model_alias", TEST_MODEL, "--host", "127.0.0.1",
                              "--port", str(port), "--n_ctx", "2048", "--n_threads", "2",
                              "--verbose", "False")
    with run_subprocess(args, port=port, ready_path="/v1/models", log_path=log,
                        startup_timeout_s=90) as url:
        yield url + "/v1"
