#!/usr/bin/env bash
# Install a real Glance (the Image service) from PyPI into its own venv,
# .glance-venv, apart from nova's: the image REST client's contract tests
# run against it (nova/tests/functional/image/
# test_image_service_contract.py). .ci/run runs this script; without
# .glance-venv those tests are skipped, or failed under
# NOVA_TEST_REQUIRE_SERVICES=1 (as CI runs them).
#
# The tests run it under waitress (Glance is a WSGI application only:
# glance.wsgi.api:application) with the file store and SQLite, twice:
# with Glance's paste pipeline without authentication and a policy
# allowing every image rule (RealGlanceContract: no request names a
# project), and with its keystone paste flavor and default policies
# behind the real Keystone of tools/install-keystone.sh
# (KeystoneGlanceContract: real tokens of two projects and an admin).
# GLANCE_VERSION picks the release (default: 33.0.0, the one the tests
# were last run against, so that CI does not change under them).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
venv=.glance-venv
spec=glance==${GLANCE_VERSION:-33.0.0}
if [ ! -x "$venv/bin/python" ]; then
    "$PYTHON" -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
fi
"$venv/bin/pip" install --quiet "$spec" waitress
"$venv/bin/python" -c 'import glance; print("glance installed in '"$venv"'")'
