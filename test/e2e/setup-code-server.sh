#!/usr/bin/env bash
# Installs VS Code for the web (code-server 4.96.4) under .e2e/code-server for the end-to-end tests, offline:
# npm's registry only. code-server's own post-install step downloads things and fails here, so it is installed
# with --ignore-scripts and its steps are done by hand. Idempotent: a finished install is left alone.
set -euo pipefail
cd "$(dirname "$0")/../.."

VERSION=4.96.4
ROOT=.e2e/code-server
STAMP="$ROOT/installed-$VERSION"
CODE="$ROOT/node_modules/code-server"

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's chromium for the end-to-end tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing: install Debian's chromium package (apt-get install chromium)" >&2
    exit 1
  fi
fi

if [ -f "$STAMP" ] && [ -f "$CODE/out/node/entry.js" ]; then
  echo "code-server $VERSION is ready in $ROOT"
  exit 0
fi

echo "Installing code-server $VERSION in $ROOT"
rm -rf "$ROOT"
mkdir -p "$ROOT"
printf '{ "name": "e2e-code-server", "private": true }\n' > "$ROOT/package.json"
# The install is separate from the project's: its packages never enter the project's lock file.
(cd "$ROOT" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error "code-server@$VERSION")

# What code-server's postinstall.sh would do, without its downloads.
(
  cd "$CODE/lib/vscode"
  rm -f npm-shrinkwrap.json
  npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
  npm rebuild --loglevel=error node-pty @parcel/watcher @vscode/spdlog native-watchdog
  ln -sfn node_modules node_modules.asar
  cd extensions
  npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
)
(cd "$ROOT" && npm rebuild --loglevel=error argon2)

touch "$STAMP"
echo "code-server $VERSION is ready in $ROOT"
