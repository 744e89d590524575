#!/usr/bin/env bash
# Installs the workspace, builds the packages and runs the demo on the embedded default.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
pnpm --silent build >/dev/null
pnpm --silent demo
