#!/usr/bin/env bash
# Create .venv (once) and install nova, its requirements, the test
# requirements and the in-tree example vendor hook package into it.
# Re-installs only when one of the files that decide what is installed
# changed, so repeated test runs start at once.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
fi
stamp=.venv/.nova-installed
want=$(cat requirements.txt test-requirements.txt setup.cfg \
           $(find contrib -name setup.cfg -o -name pyproject.toml \
             -o -name '*.py' | sort) | sha1sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/pip install --quiet -r requirements.txt -r test-requirements.txt
    .venv/bin/pip install --quiet -e .
    for pkg in contrib/*/; do
        .venv/bin/pip install --quiet --force-reinstall --no-deps "$pkg"
    done
    echo "$want" > "$stamp"
fi
