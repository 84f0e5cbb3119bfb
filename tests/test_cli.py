"""The `utterly` command, run as a real process."""

import json
import os
import socket
import subprocess
import sys

UTTERLY = [sys.executable, "-m", "utterly.cli"]


def run(*args, env=None, timeout=180):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*UTTERLY, *args], capture_output=True, text=True, timeout=timeout,
                          env=full_env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_generate_json_on_the_local_model():
    proc = run("generate", "Comment réinitialiser mon mot de passe ?", "--locale", "fr",
               "-n", "3", "--sms-language", "--spelling-mistakes", "--abbreviated-language",
               "--temperature", "0.7", "--provider", "local", "--model", "smollm2-135m",
               "--seed", "2", "--json")
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) >= {"sentences", "rejected", "usage", "attempts", "provider", "model",
                         "latency_s"}
    assert data["provider"] == "local" and data["model"] == "smollm2-135m"
    for s in data["sentences"]:
        assert set(s) >= {"text", "origin", "scores"}
        assert s["origin"] in ("model", "transformed")
    for r in data["rejected"]:
        assert r["text"] is not None and r["reason"]
    assert data["usage"]["input_tokens"] > 0
    assert len(data["sentences"]) <= 3
    assert proc.returncode == (0 if data["sentences"] else 1)


def test_generate_readable_output():
    # SmolLM2 keeps a sentence for only some seeds: the output is checked on the first
    # seed that keeps one (exit 0), and one of 8 must.
    for seed in range(1, 9):
        proc = run("generate", "Where is my parcel?", "-n", "2", "--model", "smollm2-135m",
                   "--seed", str(seed))
        if proc.returncode == 0:
            break
        assert proc.returncode == 1 and "passed the filters" in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    assert lines and lines[0].lstrip().startswith("1.")
    assert "sentences" in proc.stderr and "attempt" in proc.stderr


def test_out_of_range_options_exit_2_naming_the_field():
    proc = run("generate", "Where is my parcel?", "-n", "51", "--model", "smollm2-135m")
    assert proc.returncode == 2
    assert "n:" in proc.stderr and "1 to 50" in proc.stderr
    proc = run("generate", "Where is my parcel?", "--temperature", "1.5", "--json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["error"]["field"] == "temperature"


def test_providers_check_local_ok():
    proc = run("providers", "check", "--provider", "local", "--model", "smollm2-135m")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK local/smollm2-135m")
    assert len(proc.stdout.strip().splitlines()) == 1


def test_providers_check_unreachable_ollama_is_classified_with_a_hint():
    url = f"http://127.0.0.1:{free_port()}"
    proc = run("providers", "check", "--provider", "ollama", "--model", "tinyllama",
               "--base-url", url, "--timeout", "5")
    assert proc.returncode == 1
    assert "[unreachable]" in proc.stderr and "hint" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_keys_are_never_printed():
    secret = "sk-test-ABCDEFSECRET123456"
    url = f"http://127.0.0.1:{free_port()}/v1"
    proc = run("providers", "check", "--provider", "openai", "--model", "m", "--base-url",
               url, "--api-key", secret, "--timeout", "3")
    assert proc.returncode == 1
    assert secret not in proc.stdout + proc.stderr
    proc = run("generate", "Where is my parcel?", "--provider", "openai", "--base-url", url,
               "--model", "m", "--timeout", "3", "--json", env={"OPENAI_API_KEY": secret})
    assert proc.returncode == 1
    assert secret not in proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["error"]["code"] == "unreachable"


def test_models_lists_the_catalogue():
    proc = run("models", "--json")
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["smollm2-135m"]["installed"] is True
    assert rows["qwen2.5-coder-1.5b"]["default"] is True
    proc = run("models")
    assert "smollm2-135m" in proc.stdout and "installed" in proc.stdout


def test_generate_knows_the_faq_and_the_bots_other_faqs(faulty_server, tmp_path):
    """--title and --answer reach the prompt; --other-intents reads a bot file and a
    candidate that another FAQ already has is rejected, naming it. The vendor is a real
    OpenAI-compatible server that always answers `where is my parcel`, `track my order`."""
    bot = tmp_path / "bot.csv"
    bot.write_text("intent,text,locale\n"
                   "Orders,Where is my order?,en\n"  # the FAQ itself: left out
                   "Delivery,Where is my parcel?,en\n"
                   "Livraison,Où est mon colis ?,fr\n", "utf-8")
    proc = run("generate", "Where is my order?", "-n", "2", "--title", "Orders",
               "--answer", "Orders are listed under My account.", "--other-intents", str(bot),
               "--provider", "openai", "--model", "gpt-4o-mini", "--api-key", "sk-test",
               "--base-url", f"{faulty_server.url}/ok/v1", "--attempts", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [s["text"] for s in data["sentences"]] == ["track my order"]
    rejected = {r["text"]: r for r in data["rejected"]}
    assert rejected["where is my parcel"]["reason"] == "other_intent"
    assert "Delivery" in rejected["where is my parcel"]["detail"]
    prompt = "\n".join(m["content"] for m in faulty_server.state.last_openai_body["messages"])
    assert "Subject: Orders" in prompt and "Orders are listed under My account." in prompt
    assert faulty_server.state.last_openai_body["messages"][-1]["role"] == "user"


def test_a_bad_other_intents_file_names_the_line(tmp_path):
    bot = tmp_path / "bot.csv"
    bot.write_text("intent,text\nDelivery\n", "utf-8")
    proc = run("generate", "Where is my order?", "--other-intents", str(bot), "--json")
    assert proc.returncode == 2
    error = json.loads(proc.stdout)["error"]
    assert "line 2" in error["message"]
