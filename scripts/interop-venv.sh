#!/bin/sh
# Creates .venv-interop (gitignored) with the Python packages the slixmpp
# interop suite needs (tests/interop/requirements.txt). Safe to run again:
# when the venv already holds exactly those packages it does nothing.
# tests/interop.rs runs the scenario with this venv's python and fails,
# naming this script, when the venv is missing.
#
# PYTHON picks the interpreter (default: python3). No root needed; PyPI
# must be reachable the first time.
set -eu
cd "$(dirname "$0")/.."

VENV=.venv-interop
REQUIREMENTS=tests/interop/requirements.txt
STAMP=$VENV/.requirements.installed
PYTHON=${PYTHON:-python3}

say() { printf 'interop-venv: %s\n' "$*"; }

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && cmp -s "$REQUIREMENTS" "$STAMP"; then
    say "$VENV is up to date with $REQUIREMENTS; nothing to do"
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV with $($PYTHON --version 2>&1) ($(command -v "$PYTHON"))"
    if ! "$PYTHON" -m venv "$VENV"; then
        say "'$PYTHON -m venv' failed; on Debian install python3-venv (apt-get install python3-venv)" >&2
        rm -rf "$VENV"
        exit 1
    fi
else
    say "$VENV exists but does not match $REQUIREMENTS; reinstalling"
fi

say "installing $REQUIREMENTS into $VENV"
"$VENV/bin/python" -m pip install --disable-pip-version-check --quiet \
    --requirement "$REQUIREMENTS"
cp "$REQUIREMENTS" "$STAMP"
say "done: $("$VENV/bin/python" -c 'import slixmpp; print("slixmpp", slixmpp.__version__)')"
