#!/usr/bin/env bash
# Arize Phoenix, the OTLP backend the tracing tests send real spans to, in a venv of its own
# (its dependencies must not mix with ours), created once per version; prints bin/phoenix.
# The stamp file is written only after a successful install: an interrupted install is
# redone on the next call, never trusted.
set -euo pipefail
VERSION="${PHOENIX_VERSION:-20.26.1}"
VENV="${UTTERLY_PHOENIX_VENV:-$HOME/.cache/utterly/phoenix-$VERSION}"
STAMP="$VENV/.installed-arize-phoenix-$VERSION"
PY="${PYTHON:-python3}"
if [ ! -f "$STAMP" ] || [ ! -x "$VENV/bin/phoenix" ]; then
  echo "installing Arize Phoenix $VERSION into $VENV (once; a few minutes)" >&2
  test -x "$VENV/bin/python" || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q \
    "arize-phoenix==$VERSION" >&2
  test -x "$VENV/bin/phoenix"
  touch "$STAMP"
fi
echo "$VENV/bin/phoenix"
