#!/usr/bin/env bash
# Supply-chain gate: licences, banned and duplicate crates, and sources of
# every crate in Cargo.lock, checked against deny.toml by cargo-deny.
# The advisories check is not run: its database cannot be fetched here
# (DESIGN.md §5). Installs cargo-deny from crates.io if it is missing or
# another version (a few minutes on two cores, once per machine).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DENY_VERSION=0.20.2

if ! cargo deny --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; then
    echo "== installing cargo-deny $CARGO_DENY_VERSION"
    cargo install cargo-deny --version "$CARGO_DENY_VERSION" --locked
fi

# The check itself reads only Cargo.lock and the local crate cache; make sure
# every locked crate is there (no network needed when it already is).
cargo fetch --locked --offline >/dev/null 2>&1 || cargo fetch --locked

echo "== cargo deny check licenses bans sources"
cargo deny --offline --locked check --hide-inclusion-graph licenses bans sources
