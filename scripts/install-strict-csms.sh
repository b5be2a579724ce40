#!/usr/bin/env bash
# Installs the npm dependencies of the tests' strict CSMS (tests/support/strict_csms: ocpp-rpc,
# pinned with its lock file) into .cache/strict-csms/node_modules (git-ignored), or into
# $OCPP_BRIDGE_STRICT_CSMS_DIR. Idempotent: does nothing when that lock file is installed
# already; a reinstall is served from npm's own cache, so it works offline after the first run.
# Needs node >= 18 and npm; installs Debian's nodejs/npm when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

src=tests/support/strict_csms
dest=${OCPP_BRIDGE_STRICT_CSMS_DIR:-.cache/strict-csms}
stamp="$dest/.installed-$(cat "$src/package.json" "$src/package-lock.json" | sha1sum | cut -c1-12)"
if [ -f "$stamp" ] && [ -d "$dest/node_modules/ocpp-rpc" ]; then
  exit 0
fi

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "install-strict-csms: installing nodejs and npm (Debian packages)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi

echo "install-strict-csms: installing ocpp-rpc into $dest"
mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$dest/"
(cd "$dest" && npm ci --prefer-offline --no-audit --no-fund --ignore-scripts --loglevel=error)
rm -f "$dest"/.installed-*
touch "$stamp"
