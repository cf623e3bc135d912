#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs what the tests
# need (Prosody, ejabberd; see scripts/install-test-deps.sh), then runs every
# test. Tests that need a server start their own throwaway instances on
# loopback; none are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -x scripts/install-test-deps.sh ]; then
    scripts/install-test-deps.sh
fi

echo "== cargo test"
cargo test --all-targets --locked
