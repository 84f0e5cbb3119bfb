"""`utterly tock-bridge` as an admin starts it: the command, its checks of the options, and
a real process answering Tock's contract on the embedded model."""

from __future__ import annotations

import os
import shutil
import tempfile

import httpx
from click.testing import CliRunner

from tests.servers.run import free_port, run_subprocess
from utterly.cli import main

from .fixtures import load_request

TEST_MODEL = "smollm2-135m"


def test_the_command_answers_tock_on_the_embedded_model():
    port = free_port()
    utterly = shutil.which("utterly") or os.path.join(os.path.dirname(os.sys.executable),
                                                       "utterly")
    log = os.path.join(tempfile.gettempdir(), f"utterly-tock-bridge-{port}.log")
    args = [utterly, "tock-bridge", "--port", str(port), "--model", TEST_MODEL,
            "--deadline", "40"]
    with run_subprocess(args, port=port, ready_path="/health-check", log_path=log,
                        startup_timeout_s=120) as url:
        request = load_request("completion_openai", OPENAI_BASE_URL="http://127.0.0.1:9/v1")
        response = httpx.post(url + request["path"], json=request["body"], timeout=55)
    assert response.status_code == 200, response.text
    sentences = response.json()["sentences"]
    assert len(sentences) <= request["body"]["prompt"]["inputs"]["nb_sentences"]
    with open(log, encoding="utf-8") as f:
        logged = f.read()
    assert "ready in" in logged and "generated" in logged
    # the key Tock sent never reaches the log
    assert request["body"]["llm_setting"]["api_key"]["secret"] not in logged


def test_the_command_refuses_options_that_cannot_go_together():
    runner = CliRunner()
    alone = runner.invoke(main, ["tock-bridge", "--studio-bot", "3"])
    assert alone.exit_code == 2 and "--as" in alone.output
    mixed = runner.invoke(main, ["tock-bridge", "--studio-bot", "3", "--as", "alice",
                                 "--mode", "pass-through"])
    assert mixed.exit_code == 2 and "own settings" in mixed.output
    bad = runner.invoke(main, ["tock-bridge", "--allow-client", "not-a-network"])
    assert bad.exit_code == 2 and "--allow-client" in bad.output
    upstream = runner.invoke(main, ["tock-bridge", "--upstream", "ftp://x"])
    assert upstream.exit_code == 2 and "--upstream" in upstream.output


def test_an_unknown_linked_bot_is_a_message_not_a_traceback(tmp_path):
    result = CliRunner().invoke(main, ["tock-bridge", "--studio-bot", "99", "--as", "nobody",
                                       "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "nobody" in result.output and "Traceback" not in result.output
