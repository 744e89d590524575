#!/usr/bin/env bash
# Runs every test on a fresh machine: installs what is missing, builds and
# checks the packages, starts FerretDB and the Ceph S3 gateway on 127.0.0.1,
# runs jest over every package, and stops the servers it started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

bash scripts/setup.sh

# the studio's browser tests drive Debian's chromium (playwright-core downloads no browser)
if ! command -v chromium >/dev/null 2>&1; then
  echo "== chromium (apt-get)"
  SUDO=""
  [ "$(id -u)" = "0" ] || SUDO="sudo"
  { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } >/dev/null 2>&1 \
    || echo "chromium: apt-get install failed; the studio's browser tests will skip (they say so)"
fi

echo "== lint and format (biome)"
pnpm exec biome check --reporter=summary .

echo "== build and package checks"
pnpm --silent build
pnpm --silent -r --filter './packages/*' exec publint --strict >/dev/null
# every package's exports resolve with types under node16 (CJS and ESM) and bundlers
pnpm --silent -r --filter './packages/*' exec attw --pack . --profile node16 --format table-flipped >/dev/null
pnpm exec tsc -p tsconfig.json --noEmit

echo "== test servers"
mkdir -p .tmp
rm -f .tmp/test-servers.env
stop_servers() {
  bash "$ROOT/scripts/ferretdb.sh" stop || true
  bash "$ROOT/scripts/ceph.sh" stop || true
}
trap stop_servers EXIT
bash scripts/ferretdb.sh start
bash scripts/ceph.sh start
# shellcheck disable=SC1091
source .tmp/test-servers.env

echo "== tests"
# the AWS SDK warns on every client that its 2027 releases will need Node 22
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
status=0
rm -f .tmp/jest-results.json .tmp/jest-results-node24.json
pnpm exec jest --ci --maxWorkers=2 --json --outputFile=.tmp/jest-results.json "$@" || status=$?

echo "== tests on Node 24 (core, storage-local, cli, testkit, embedded chronos-db: scripts/node24/)"
bash scripts/node24/run.sh --ci --maxWorkers=2 --json --outputFile=.tmp/jest-results-node24.json || status=$?

# one line per run, then the combined total (the last line)
node -e '
  const fs = require("fs");
  const sum = { passed: 0, failed: 0, skipped: 0 };
  for (const [name, file] of [["node " + process.versions.node, process.argv[1]], ["node 24", process.argv[2]]]) {
    if (!fs.existsSync(file)) { console.log(`tests (${name}): no results (the run did not finish)`); continue; }
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    const n = { passed: r.numPassedTests, failed: r.numFailedTests, skipped: r.numPendingTests + r.numTodoTests };
    for (const k in sum) sum[k] += n[k];
    console.log(`tests (${name}): ${n.passed} passed, ${n.failed} failed, ${n.skipped} skipped`);
  }
  console.log(`tests: ${sum.passed} passed, ${sum.failed} failed, ${sum.skipped} skipped`);
' "$ROOT/.tmp/jest-results.json" "$ROOT/.tmp/jest-results-node24.json" || true
exit "$status"
