#!/usr/bin/env bash
# Runs every test on a fresh machine: installs what is missing, builds and
# checks the packages, starts FerretDB and the Ceph S3 gateway on 127.0.0.1,
# runs jest over every package, and stops the servers it started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

bash scripts/setup.sh

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
pnpm exec jest --ci --maxWorkers=2 --json --outputFile=.tmp/jest-results.json "$@" || status=$?
node -e '
  const r = require(process.argv[1]);
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$ROOT/.tmp/jest-results.json" || true
exit "$status"
