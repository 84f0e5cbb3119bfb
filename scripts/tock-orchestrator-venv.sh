#!/usr/bin/env bash
# Tock's real Gen AI orchestrator (../shared/tock beside the repo), the reference the
# differential tests of `utterly tock-bridge` compare against, in a venv of its own (its
# LangChain pins must not mix with ours), created once per requirements.txt; prints the venv.
# The stamp file is written only after a successful install and import: an interrupted
# install is redone on the next call, never trusted.
# shared/ is read-only in CI: nothing is written there (no bytecode either), and
# orchestrator.sh is run through bash so that a copy without exec bits works as well.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOCK="${UTTERLY_TOCK_DIR:-$ROOT/../shared/tock}"
REQUIREMENTS="$TOCK/requirements.txt"
if [ ! -f "$REQUIREMENTS" ] || [ ! -f "$TOCK/orchestrator.sh" ]; then
  echo "Tock's orchestrator is not in $TOCK (shared/tock beside the repo)" >&2
  exit 1
fi
HASH="$(sha256sum "$REQUIREMENTS" | cut -c1-12)"
VENV="${UTTERLY_TOCK_ORCHESTRATOR_VENV:-$HOME/.cache/utterly/tock-orchestrator-$HASH}"
STAMP="$VENV/.installed-tock-orchestrator-$HASH"
if [ ! -f "$STAMP" ] || [ ! -x "$VENV/bin/python" ]; then
  echo "installing Tock's Gen AI orchestrator into $VENV (once; about 2 minutes)" >&2
  mkdir -p "$(dirname "$VENV")"
  bash "$TOCK/orchestrator.sh" install "$VENV" >&2
  # Importing the app proves the pins resolved into something that serves.
  (cd "$TOCK/orchestrator-server" && PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH="$TOCK/orchestrator-server/src" \
    "$VENV/bin/python" -c "import gen_ai_orchestrator.main" >/dev/null 2>&1) || {
    echo "the orchestrator installed into $VENV does not import" >&2
    exit 1
  }
  touch "$STAMP"
fi
echo "$VENV"
