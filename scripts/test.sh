#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs what the tests
# need (Prosody, ejabberd: scripts/install-test-deps.sh; slixmpp for the
# interop suite: scripts/interop-venv.sh), then runs every test. Tests that need a server start their own throwaway instances on
# loopback; none are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -x scripts/install-test-deps.sh ]; then
    scripts/install-test-deps.sh
fi

# slixmpp, for the interop suite (tests/interop.rs), in .venv-interop.
scripts/interop-venv.sh

echo "== cargo test"
cargo test --all-targets --locked
