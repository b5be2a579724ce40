#!/usr/bin/env bash
# Creates .venv with ocpp-bridge installed (editable) and, with --mosquitto, makes sure a
# mosquitto binary is on the machine (Debian package). Idempotent; prints what it does.
set -euo pipefail
cd "$(dirname "$0")/.."

want_mosquitto=0
for arg in "$@"; do [ "$arg" = "--mosquitto" ] && want_mosquitto=1; done

if [ "$want_mosquitto" = 1 ] && ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  echo "bootstrap: installing mosquitto (Debian package)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mosquitto >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(cat setup.cfg pyproject.toml | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing ocpp-bridge and its dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q -e '.[test,demo]'
  rm -f .venv/.installed-*; touch "$stamp"
fi
