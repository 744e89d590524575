#!/usr/bin/env bash
# Starts / stops the FerretDB test server (tools/ferretdb, SQLite backend).
#
#   scripts/ferretdb.sh start   # build if needed, start on 127.0.0.1:$FERRETDB_PORT (default 37017)
#   scripts/ferretdb.sh stop    # stop it and remove its data directory
#   scripts/ferretdb.sh status
#
# start writes `export CHRONOS_TEST_MONGO_URL=mongodb://127.0.0.1:PORT/` to
# .tmp/test-servers.env (other lines are kept; FERRETDB_NO_ENV=1 skips it).
# Idempotent and quiet; on failure it prints the tail of the server's log.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/tools/ferretdb"
BIN="$SRC/ferretdb-bin"
PORT="${FERRETDB_PORT:-37017}"
HOST=127.0.0.1
# the default port keeps .tmp/ferretdb; another port gets its own state (never touches the default server)
if [ "$PORT" = 37017 ]; then STATE="$ROOT/.tmp/ferretdb"; else STATE="$ROOT/.tmp/ferretdb-$PORT"; fi
DATA="$STATE/data"
PIDFILE="$STATE/ferretdb.pid"
LOG="$STATE/ferretdb.log"
ENVFILE="$ROOT/.tmp/test-servers.env"
URL="mongodb://$HOST:$PORT/"

die() { echo "ferretdb.sh: $*" >&2; exit 1; }

find_go() {
  if command -v go >/dev/null 2>&1; then command -v go
  elif [ -x /usr/local/go/bin/go ]; then echo /usr/local/go/bin/go
  else die "Go toolchain not found (install Go >= 1.24 or put it on PATH)"; fi
}

needs_build() {
  [ -x "$BIN" ] || return 0
  [ -n "$(find "$SRC" -maxdepth 1 \( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$BIN" -print -quit)" ] && return 0
  [ "$ROOT/scripts/ferretdb.sh" -nt "$BIN" ]
}

# FerretDB 1.24's SQLite backend looks `_id` up as `_ferretdb_sjson->'$._id' = ?` but
# creates its `_id_` index on `_ferretdb_sjson->"_id"`: SQLite matches index expressions
# by their text, so every `_id` find/update/delete scans the table (a find by _id in
# 5,000 documents took 6.6 ms, in 10 documents 1 ms). The build compiles a copy of the
# module whose IDColumn is the index's expression (the same JSON value, so the same
# results), which makes them index seeks.
#
# Its `update` command also keeps each statement's query open (`defer` inside the loop)
# until the command ends, and each statement needs one more pooled connection for its
# write: ~100 statements in one command, or bulk updates running side by side, exhaust
# the 100 connections of a database and the command waits forever (seen with a bulkWrite
# of 200 upserts). The copy closes each statement's query after its update.
#
# Go refuses overlays of the module cache, so the copy lives in $STATE/build and a
# `replace` directive points at it.
prepare_build_dir() {
  local go="$1" dir out src
  dir="$(cd "$SRC" && "$go" list -m -f '{{.Dir}}' github.com/FerretDB/FerretDB)"
  out="$STATE/build"
  rm -rf "$out"; mkdir -p "$out"
  cp -R "$dir" "$out/FerretDB"; chmod -R u+w "$out/FerretDB"
  src="$out/FerretDB/internal/backends/sqlite/metadata/metadata.go"
  sed -i -e "s|IDColumn = DefaultColumn + \"->'\\\$._id'\"|IDColumn = DefaultColumn + \"->\\\\\"_id\\\\\"\"|" "$src"
  grep -q 'IDColumn = DefaultColumn + "->\\"_id\\""' "$src" \
    || die "could not patch IDColumn in $src (FerretDB version changed?)"
  src="$out/FerretDB/internal/handler/msg_update.go"
  sed -i -e '/result, err := common.UpdateDocument(ctx, c, "update", iter, &u)/a\		closer.Close() // chronos-db test build: release this statement'"'"'s query now' "$src"
  [ "$(grep -c "closer.Close() // chronos-db test build" "$src")" = 1 ] \
    || die "could not patch the update loop in $src (FerretDB version changed?)"
  cp "$SRC/main.go" "$SRC/go.mod" "$SRC/go.sum" "$out/"
  echo "replace github.com/FerretDB/FerretDB => ./FerretDB" >>"$out/go.mod"
}

build() {
  local go; go="$(find_go)"
  mkdir -p "$STATE"
  (cd "$SRC" && "$go" mod download github.com/FerretDB/FerretDB) >"$STATE/build.log" 2>&1 \
    || { tail -n 30 "$STATE/build.log" >&2; die "go mod download failed (full log: $STATE/build.log)"; }
  prepare_build_dir "$go"
  if ! (cd "$STATE/build" && "$go" build -buildvcs=false -trimpath -o "$BIN.tmp" . >>"$STATE/build.log" 2>&1); then
    rm -f "$BIN.tmp"
    tail -n 30 "$STATE/build.log" >&2
    die "go build of tools/ferretdb failed (full log: $STATE/build.log)"
  fi
  mv -f "$BIN.tmp" "$BIN"
}

running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

# Rewrites the env file under a lock: drops our line, then appends $1 (if given).
# FERRETDB_NO_ENV=1 leaves the env file alone (e.g. a second server on another port).
set_env_line() {
  [ -n "${FERRETDB_NO_ENV:-}" ] && return 0
  mkdir -p "$(dirname "$ENVFILE")"
  (
    flock 9
    local tmp="$ENVFILE.$$"
    { [ -f "$ENVFILE" ] && grep -v '^export CHRONOS_TEST_MONGO_URL=' "$ENVFILE" || true; } >"$tmp"
    [ -n "${1:-}" ] && echo "$1" >>"$tmp"
    mv -f "$tmp" "$ENVFILE"
  ) 9>"$ENVFILE.lock"
}

start() {
  if pid="$(running_pid)" && port_open; then
    set_env_line "export CHRONOS_TEST_MONGO_URL=$URL"
    return 0
  fi
  [ -n "${pid:-}" ] && stop_pid "$pid"
  port_open && die "port $HOST:$PORT is already in use by another process (set FERRETDB_PORT)"
  if needs_build; then build; fi
  rm -rf "$DATA"; mkdir -p "$DATA"
  : >"$LOG"
  # one SQLite file per database plus pooled connections: a long test run opens thousands of
  # files, and the shared dev server hit "too many open files" at 20,000; raise the soft limit
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  nohup "$BIN" -listen "$HOST:$PORT" -data "$DATA" -log-level warn >>"$LOG" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$PIDFILE"
  for _ in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE"
      tail -n 30 "$LOG" >&2
      die "FerretDB exited during startup (log: $LOG)"
    fi
    if port_open; then
      set_env_line "export CHRONOS_TEST_MONGO_URL=$URL"
      return 0
    fi
    sleep 0.1
  done
  tail -n 30 "$LOG" >&2
  stop_pid "$pid"
  die "FerretDB did not accept connections on $HOST:$PORT within 30 s (log: $LOG)"
}

stop_pid() {
  local pid="$1"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

stop() {
  if pid="$(running_pid)"; then stop_pid "$pid"; fi
  rm -f "$PIDFILE"
  rm -rf "$DATA"
  set_env_line ""
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if pid="$(running_pid)"; then echo "running (pid $pid) on $URL"; else echo "stopped"; exit 1; fi ;;
  build) build ;;
  *) echo "usage: $0 start|stop|status|build" >&2; exit 2 ;;
esac
