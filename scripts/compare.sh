#!/bin/sh
# Regenerates docs/comparison.md from a real run: mixgate behind Prosody,
# mixgate behind ejabberd, and ejabberd's own mod_mix, each put through the
# slixmpp interop scenario (tests/interop/scenario.py).
#
# The servers are started by the ignored test comparison_with_ejabberd_mod_mix
# in tests/interop.rs (throwaway instances on loopback, as in the rest of the
# suite), which writes the results as JSON; tests/interop/render_comparison.py
# turns that into the Markdown. Needs Prosody and ejabberd installed
# (scripts/install-test-deps.sh). Takes about a minute once built.
set -eu
cd "$(dirname "$0")/.."

say() { printf 'compare: %s\n' "$*"; }

scripts/interop-venv.sh

json=$(mktemp /tmp/mixgate-comparison-XXXXXX.json)
trap 'rm -f "$json"' EXIT INT TERM

say "running the scenario against the three targets"
MIXGATE_COMPARISON_JSON=$json cargo test --locked --test interop \
    comparison_with_ejabberd_mod_mix -- --ignored --exact --nocapture

version() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo unknown; }
mixgate="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1) ($(git rev-parse --short HEAD 2>/dev/null || echo 'no git')$(git diff --quiet HEAD -- src 2>/dev/null || echo ', src modified'))"

say "writing docs/comparison.md"
mkdir -p docs
.venv-interop/bin/python tests/interop/render_comparison.py "$json" \
    --prosody "$(version prosody)" --ejabberd "$(version ejabberd)" \
    --mixgate "$mixgate" --command scripts/compare.sh > docs/comparison.md.new
mv docs/comparison.md.new docs/comparison.md
say "done: docs/comparison.md"
