#!/usr/bin/env bash
# Installs what the workspace needs on a fresh machine: pnpm 10 and the node
# modules (better-sqlite3 is compiled against the installed Node headers).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PNPM_VERSION=10.34.9
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm@$PNPM_VERSION"
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null
fi
# better-sqlite3's native build cannot download Node's headers here: use the installed ones.
if [ -d /usr/include/node ]; then export npm_config_nodedir=/usr; fi
pnpm install --frozen-lockfile --reporter=append-only 2>&1 | grep -vE '^\.\.\./|^Progress' | tail -n 5
