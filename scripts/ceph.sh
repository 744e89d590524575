#!/usr/bin/env bash
# A throw-away single-node Ceph cluster with the S3 gateway (radosgw) for tests.
#
#   scripts/ceph.sh start   # ~15 s; idempotent; writes CHRONOS_TEST_S3_* to .tmp/test-servers.env
#   scripts/ceph.sh stop    # kills the daemons it started and removes the data dir
#   scripts/ceph.sh status
#
# One monitor, one OSD on memstore (2 GiB, in memory), no cephx, everything on
# 127.0.0.1, everything under <repo>/.tmp/ceph (computed from this script's
# location, so it works in any clone). Ports can be overridden with
# CHRONOS_CEPH_MON_PORT, CHRONOS_CEPH_RGW_PORT and CHRONOS_CEPH_RGW_TLS_PORT.
# The gateway also answers https on the TLS port, with a throw-away self-signed
# certificate (openssl; names s3.localhost, *.s3.localhost and 127.0.0.1) whose
# file is CHRONOS_TEST_S3_TLS_CA.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TMP="$ROOT/.tmp"
DIR="$TMP/ceph"
CONF="$DIR/ceph.conf"
ENV_FILE="$TMP/test-servers.env"
MON_PORT="${CHRONOS_CEPH_MON_PORT:-13300}"
RGW_PORT="${CHRONOS_CEPH_RGW_PORT:-17480}"
RGW_TLS_PORT="${CHRONOS_CEPH_RGW_TLS_PORT:-17443}"
ENDPOINT="http://127.0.0.1:$RGW_PORT"
TLS_ENDPOINT="https://127.0.0.1:$RGW_TLS_PORT"
TLS_CERT="$DIR/tls/cert.pem"
DNS_NAME="s3.localhost"
# Fixed test keys (a throw-away local cluster; never used anywhere else).
ACCESS_KEY="CHRONOSTESTACCESSKEY"
SECRET_KEY="chronosTestSecretKey0123456789abcdefABCD"
S3_UID="chronos-test"
# A second user that owns nothing: tests grant it access to single buckets by bucket policy
# (keys scoped to the configured buckets, as with DigitalOcean's per-bucket keys).
SCOPED_UID="chronos-scoped"
SCOPED_ACCESS_KEY="CHRONOSSCOPEDACCESS1"
SCOPED_SECRET_KEY="chronosScopedSecret0123456789abcdefABCDE"

log() { echo "[ceph.sh] $*" >&2; }

ceph_() { ceph -c "$CONF" --connect-timeout 10 "$@"; }

gateway_up() {
  curl -s -o /dev/null -m 2 "$ENDPOINT/" 2>/dev/null
}

show_logs() {
  for f in "$DIR"/log/*.log; do
    [ -f "$f" ] || continue
    echo "----- tail $f" >&2
    tail -n 30 "$f" >&2 || true
  done
}

fail() {
  log "ERROR: $*"
  show_logs
  # Leave nothing half-started behind.
  [ "${STARTING:-0}" = 1 ] && stop >/dev/null 2>&1 || true
  exit 1
}

ensure_installed() {
  if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null \
    && command -v radosgw-admin >/dev/null && command -v monmaptool >/dev/null && command -v ceph >/dev/null \
    && command -v uuidgen >/dev/null && command -v curl >/dev/null && command -v openssl >/dev/null; then
    return 0
  fi
  log "installing radosgw ceph-mon ceph-osd (apt-get)"
  local SUDO=""
  [ "$(id -u)" = "0" ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q radosgw ceph-mon ceph-osd ceph-common uuid-runtime curl openssl
}

write_env() {
  mkdir -p "$TMP"
  touch "$ENV_FILE"
  # Replace only our own lines; keep the others (e.g. the Mongo line).
  local tmpf
  tmpf="$(mktemp "$TMP/.env.XXXXXX")"
  grep -v -E '^export CHRONOS_TEST_S3_' "$ENV_FILE" >"$tmpf" || true
  {
    echo "export CHRONOS_TEST_S3_ENDPOINT=$ENDPOINT"
    echo "export CHRONOS_TEST_S3_ACCESS_KEY=$ACCESS_KEY"
    echo "export CHRONOS_TEST_S3_SECRET_KEY=$SECRET_KEY"
    echo "export CHRONOS_TEST_S3_DNS_NAME=$DNS_NAME"
    echo "export CHRONOS_TEST_S3_SCOPED_USER=$SCOPED_UID"
    echo "export CHRONOS_TEST_S3_SCOPED_ACCESS_KEY=$SCOPED_ACCESS_KEY"
    echo "export CHRONOS_TEST_S3_SCOPED_SECRET_KEY=$SCOPED_SECRET_KEY"
    echo "export CHRONOS_TEST_S3_TLS_ENDPOINT=$TLS_ENDPOINT"
    echo "export CHRONOS_TEST_S3_TLS_CA=$TLS_CERT"
  } >>"$tmpf"
  cat "$tmpf" >"$ENV_FILE" # keeps the file's inode and mode
  rm -f "$tmpf"
}

remove_env() {
  [ -f "$ENV_FILE" ] || return 0
  local tmpf
  tmpf="$(mktemp "$TMP/.env.XXXXXX")"
  grep -v -E '^export CHRONOS_TEST_S3_' "$ENV_FILE" >"$tmpf" || true
  cat "$tmpf" >"$ENV_FILE"
  rm -f "$tmpf"
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop() {
  local p
  for name in client.rgw osd mon; do
    for f in "$DIR"/run/"$name"*.pid; do
      [ -f "$f" ] || continue
      p="$(cat "$f" 2>/dev/null || true)"
      [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
  done
  # Wait (bounded) for them to exit, then force.
  for _ in $(seq 1 50); do
    local any=0
    for f in "$DIR"/run/*.pid; do
      [ -f "$f" ] || continue
      p="$(cat "$f" 2>/dev/null || true)"
      if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then any=1; fi
    done
    [ "$any" = 0 ] && break
    sleep 0.1
  done
  for f in "$DIR"/run/*.pid; do
    [ -f "$f" ] || continue
    p="$(cat "$f" 2>/dev/null || true)"
    [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
  done
  rm -rf "$DIR"
  remove_env
  log "stopped"
}

start() {
  if pid_alive "$DIR/run/client.rgw.a.pid" && gateway_up; then
    write_env
    log "already running at $ENDPOINT"
    return 0
  fi
  if gateway_up; then
    fail "something else already answers on $ENDPOINT; stop it or set CHRONOS_CEPH_RGW_PORT"
  fi
  ensure_installed
  # Leftovers from a crashed run: clean them first.
  [ -d "$DIR" ] && stop >/dev/null 2>&1 || true

  local t0=$SECONDS
  STARTING=1
  mkdir -p "$DIR"/{mon/a,osd/0,run,log,rgw,crash,tls}
  openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=$DNS_NAME" \
    -addext "subjectAltName=DNS:$DNS_NAME,DNS:*.$DNS_NAME,IP:127.0.0.1" \
    -keyout "$DIR/tls/key.pem" -out "$TLS_CERT" >"$DIR/log/openssl.log" 2>&1 || fail "openssl could not make the test certificate"
  local FSID OSD_UUID
  FSID="$(uuidgen)"
  OSD_UUID="$(uuidgen)"

  cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon initial members = a
mon host = [v2:127.0.0.1:$MON_PORT]
public network = 127.0.0.1/32
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms bind ipv6 = false
ms bind msgr1 = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
crash dir = $DIR/crash
keyring = $DIR/keyring
mon data avail warn = 1
mon data avail crit = 0

[mon.a]
mon data = $DIR/mon/a

[osd.0]
osd data = $DIR/osd/0
osd objectstore = memstore
memstore device bytes = 2147483648
osd journal size = 0

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT ssl_endpoint=127.0.0.1:$RGW_TLS_PORT ssl_certificate=$TLS_CERT ssl_private_key=$DIR/tls/key.pem tcp_nodelay=1
rgw dns name = $DNS_NAME
rgw data = $DIR/rgw
rgw enable usage log = false
rgw thread pool size = 64
EOF

  monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null 2>"$DIR/log/monmaptool.log" \
    || fail "monmaptool failed"
  ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/monmap" >"$DIR/log/mon-mkfs.log" 2>&1 || fail "ceph-mon --mkfs failed"
  ceph-mon -c "$CONF" -i a >"$DIR/log/mon-stdout.log" 2>&1 || fail "ceph-mon failed to start"

  local ok=0
  for _ in $(seq 1 60); do
    if ceph_ mon stat >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.5
  done
  [ "$ok" = 1 ] || fail "monitor did not answer"

  local OSD_ID
  OSD_ID="$(ceph_ osd new "$OSD_UUID" 2>"$DIR/log/osd-new.log")" || fail "ceph osd new failed"
  [ "$OSD_ID" = "0" ] || fail "unexpected osd id '$OSD_ID'"
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" >"$DIR/log/osd-mkfs.log" 2>&1 || fail "ceph-osd --mkfs failed"
  ceph-osd -c "$CONF" -i 0 >"$DIR/log/osd-stdout.log" 2>&1 || fail "ceph-osd failed to start"

  ok=0
  for _ in $(seq 1 120); do
    if ceph_ osd stat 2>/dev/null | grep -q '1 up'; then ok=1; break; fi
    sleep 0.5
  done
  [ "$ok" = 1 ] || fail "osd did not come up"

  radosgw -c "$CONF" -n client.rgw.a >"$DIR/log/rgw-stdout.log" 2>&1 || fail "radosgw failed to start"

  ok=0
  for _ in $(seq 1 240); do
    if gateway_up; then ok=1; break; fi
    pid_alive "$DIR/run/client.rgw.a.pid" || [ ! -f "$DIR/run/client.rgw.a.pid" ] || fail "radosgw exited"
    sleep 0.5
  done
  [ "$ok" = 1 ] || fail "gateway did not answer on $ENDPOINT"
  curl -s -o /dev/null -m 5 --cacert "$TLS_CERT" "$TLS_ENDPOINT/" || fail "gateway did not answer https on $TLS_ENDPOINT"

  radosgw-admin -c "$CONF" user create --uid="$S3_UID" --display-name="chronos-db tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" --max-buckets=10000 >"$DIR/log/user-create.log" 2>&1 \
    || fail "radosgw-admin user create failed"
  radosgw-admin -c "$CONF" user create --uid="$SCOPED_UID" --display-name="chronos-db scoped tests" \
    --access-key="$SCOPED_ACCESS_KEY" --secret-key="$SCOPED_SECRET_KEY" >"$DIR/log/user-create-scoped.log" 2>&1 \
    || fail "radosgw-admin user create (scoped) failed"

  STARTING=0
  write_env
  log "ready at $ENDPOINT and $TLS_ENDPOINT (dns name $DNS_NAME) in $((SECONDS - t0)) s; env in $ENV_FILE"
}

status() {
  if gateway_up; then echo "running at $ENDPOINT"; else echo "not running"; exit 1; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
