#!/usr/bin/env bash
# pnpm bench [-- options]: chronos-db against the raw drivers, side by side.
#
# Starts FerretDB (scripts/ferretdb.sh) and the Ceph S3 gateway (scripts/ceph.sh)
# unless .tmp/test-servers.env already points at live ones, runs bench/src/main.ts
# with tsx (workspace packages resolve to their sources through the root
# tsconfig paths), and stops only the servers it started. Options: --help.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENV_FILE="$ROOT/.tmp/test-servers.env"
STARTED=()

for a in "$@"; do
  case "$a" in
    -h|--help) exec env TSX_TSCONFIG_PATH="$ROOT/tsconfig.json" "$ROOT/node_modules/.bin/tsx" "$ROOT/bench/src/main.ts" --help ;;
  esac
done

need_remote=1
for a in "$@"; do [ "$a" = "--no-remote" ] && need_remote=0; done

load_env() { if [ -f "$ENV_FILE" ]; then set -a; # shellcheck disable=SC1090
  . "$ENV_FILE"; set +a; fi; }

mongo_up() {
  [ -n "${CHRONOS_TEST_MONGO_URL:-}" ] || return 1
  local hp; hp="$(echo "$CHRONOS_TEST_MONGO_URL" | sed -E 's#^mongodb://([^/@]*@)?([^/,?]+).*#\2#')"
  (exec 3<>"/dev/tcp/${hp%:*}/${hp##*:}") 2>/dev/null
}
s3_up() { [ -n "${CHRONOS_TEST_S3_ENDPOINT:-}" ] && curl -s -o /dev/null -m 2 "$CHRONOS_TEST_S3_ENDPOINT/"; }

cleanup() {
  local s
  for s in ${STARTED[@]+"${STARTED[@]}"}; do
    echo "[bench] stopping $s (started by this run)" >&2
    "$ROOT/scripts/$s.sh" stop >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT

if [ "$need_remote" = 1 ]; then
  load_env
  if ! mongo_up; then
    echo "[bench] starting FerretDB" >&2
    "$ROOT/scripts/ferretdb.sh" start
    STARTED+=(ferretdb)
  fi
  if ! s3_up; then
    echo "[bench] starting the Ceph S3 gateway (~15 s)" >&2
    "$ROOT/scripts/ceph.sh" start
    STARTED+=(ceph)
  fi
  load_env
fi

cd "$ROOT"
TSX_TSCONFIG_PATH="$ROOT/tsconfig.json" "$ROOT/node_modules/.bin/tsx" "$ROOT/bench/src/main.ts" "$@"
