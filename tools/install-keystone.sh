#!/usr/bin/env bash
# Install OpenStack Keystone (the identity service) from PyPI into a
# virtualenv of its own, with gunicorn to serve its WSGI application, for
# the functional tests that run nova behind a real Keystone
# (nova/tests/functional/keystone_fixture.py).
#
# Keystone gets its own venv, not .venv: it pins its own oslo.* and
# SQLAlchemy versions, which need not match nova's. Versions are pinned,
# the whole set, in tools/keystone-requirements.txt.
#
# Idempotent, and fast when already installed (a few milliseconds): the
# venv is (re)installed only when the requirements file changed since
# the last successful install (a stamp in the venv records its hash).
#
# Environment:
#   NOVA_KEYSTONE_VENV  where to install (default: .keystone-venv in the
#                       tree; the fixture reads the same variable)
#   PYTHON              the interpreter to make the venv with (python3)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${NOVA_KEYSTONE_VENV:-.keystone-venv}
PYTHON=${PYTHON:-python3}
REQS=tools/keystone-requirements.txt

log() { echo "install-keystone: $*" >&2; }

stamp=$VENV/.nova-keystone-installed
want=$(sha1sum "$REQS" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] \
        && [ -x "$VENV/bin/keystone-manage" ] && [ -x "$VENV/bin/gunicorn" ]
then
    exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
fi
log "installing keystone and gunicorn into $VENV"
"$VENV/bin/pip" install --quiet -r "$REQS"
"$VENV/bin/python" -c 'import keystone.server.wsgi, gunicorn' >/dev/null
echo "$want" > "$stamp"
log "ready: $("$VENV/bin/keystone-manage" --version 2>/dev/null || true)"
