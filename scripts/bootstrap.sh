#!/usr/bin/env bash
# Makes .venv hold what a user installs: builds the sdist and, from it, the wheel
# (dist/), and installs that wheel, NOT editable, into .venv. With --mosquitto (the test
# command), also makes sure the mosquitto and openssl binaries the tests use are on the machine
# (Debian packages). Prints what it does.
#
# Dependencies (and the build tools) are installed once per version of the packaging
# files (a stamp in .venv); the wheel is rebuilt and reinstalled on every run, so a stale
# install can never hide a change to the code or the definition files.
set -euo pipefail
cd "$(dirname "$0")/.."

want_mosquitto=0
for arg in "$@"; do [ "$arg" = "--mosquitto" ] && want_mosquitto=1; done

missing=""
if [ "$want_mosquitto" = 1 ]; then
  command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing="mosquitto"
  command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
fi
if [ -n "$missing" ]; then
  echo "bootstrap: installing ${missing# } (Debian packages)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ${missing} >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PY" -m venv .venv
fi
BUILD_TOOLS=("setuptools>=61" "wheel" "build>=1")
stamp=.venv/.installed-$( (cat setup.cfg pyproject.toml setup.py; echo "${BUILD_TOOLS[@]}") | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing the build tools into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q "${BUILD_TOOLS[@]}"
fi

echo "bootstrap: building the sdist and, from it, the wheel (dist/)"
rm -rf dist build module/*.egg-info
if ! .venv/bin/python -m build --no-isolation --outdir dist . >.venv/build.log 2>&1; then
  cat .venv/build.log; echo "bootstrap: the build failed (log above)"; exit 1
fi
wheel=$(ls dist/ocpp_bridge-*.whl)

if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing the dependencies of ocpp-bridge[test,demo] into .venv"
  .venv/bin/python -m pip install -q "${wheel}[test,demo]"
  rm -f .venv/.installed-*; touch "$stamp"
fi
echo "bootstrap: installing $wheel into .venv (not editable)"
.venv/bin/python -m pip install -q --force-reinstall --no-deps "$wheel"
if [ "$want_mosquitto" = 1 ]; then ./scripts/install-strict-csms.sh; fi
