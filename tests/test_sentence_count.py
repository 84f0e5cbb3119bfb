"""The count's default and bound are defined once (utterly/sentence_count.py): every reader
follows when they change. Each check runs in a fresh interpreter where the two are changed
before anything else imports them, so a reader that wrote 10 or 50 itself shows up."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# 7 and 3: neither the real bound nor the real default, nor a number written elsewhere.
_CHANGED = """
import utterly.sentence_count as count
count.MAX_SENTENCES, count.DEFAULT_SENTENCES = 7, 3
count.BOUNDS_HINT = "ask for 1 to 7 sentences"
"""


def _run(script: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, "-c", _CHANGED + textwrap.dedent(script)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_the_library_the_cli_and_tock_read_the_one_default_and_bound():
    _run("""
        import inspect
        from click.testing import CliRunner
        from utterly import InvalidRequest
        from utterly.cli import main
        from utterly.generation import agenerate
        from utterly.request import GenerationRequest
        from utterly.tock.translate import read_inputs

        assert GenerationRequest.build(sentences=["a"]).n == 3
        assert inspect.signature(agenerate).parameters["n"].default == 3
        GenerationRequest.build(sentences=["a"], n=7)
        try:
            GenerationRequest.build(sentences=["a"], n=8)
            raise SystemExit("n=8 was accepted")
        except InvalidRequest as exc:
            assert (exc.field, exc.hint) == ("n", "ask for 1 to 7 sentences"), exc

        help_text = CliRunner().invoke(main, ["generate", "--help"]).output
        assert "(1-7)" in help_text and "default: 3" in help_text, help_text

        tock = {"sentences": ["a"], "locale": "fr"}
        assert read_inputs(tock).nb_sentences == 3
        try:
            read_inputs({**tock, "nb_sentences": 8})
            raise SystemExit("Tock's nb_sentences=8 was accepted")
        except InvalidRequest as exc:
            assert "between 1 and 7" in str(exc) and "1-7" in exc.hint, exc
    """)


def test_the_studio_reads_the_one_default_and_bound():
    pytest.importorskip("fastapi")
    _run("""
        import pydantic
        from click.testing import CliRunner
        from utterly.cli import main
        from utterly.studio import models, schemas
        from utterly.studio.api import problems
        from utterly.studio.web import routes

        for make in (lambda n: schemas.GenerateIn(n=n), lambda n: schemas.JobIn(n=n),
                     lambda n: schemas.SentenceGenerationSettingsIn(nb_sentences=n)):
            make(7)
            try:
                make(8)
                raise SystemExit(f"{make(7)!r} took 8")
            except pydantic.ValidationError:
                pass
        assert schemas.SentenceGenerationSettingsIn().nb_sentences == 3
        column = models.SentenceGenerationSettings.__table__.c.nb_sentences
        assert column.default.arg == 3
        assert problems._FIELD_HINTS["n"] == problems._FIELD_HINTS["nb_sentences"] == \\
            "ask for 1 to 7 sentences"
        assert routes.templates.env.globals["MAX_SENTENCES"] == 7

        help_text = CliRunner().invoke(main, ["generate-all", "--help"]).output
        assert "1<=x<=7" in help_text, help_text
    """)


def test_the_pages_write_no_bound_of_their_own():
    """The count's inputs take their bound from the template global the Studio sets from
    MAX_SENTENCES (checked above)."""
    templates = SRC / "utterly" / "studio" / "web" / "templates"
    inputs = [line for path in templates.glob("*.html")
              for line in path.read_text().splitlines()
              if 'id="gen-n"' in line or 'id="nb_sentences"' in line]
    assert len(inputs) == 2
    assert all('max="{{ MAX_SENTENCES }}"' in line for line in inputs), inputs
