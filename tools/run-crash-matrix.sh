#!/usr/bin/env bash
# The crash matrix: nova-compute killed before and after every stage of
# every cast flow (nova/tests/functional/compute/test_crash_matrix.py),
# about 250 multi-process cases. It needs RabbitMQ and MariaDB, like the
# other crash tests. CI runs it as a step of its own, with a time budget.
set -euo pipefail
cd "$(dirname "$0")/.."
export NOVA_TEST_CRASH_MATRIX=1
exec tools/run-tests.sh 'test_crash_matrix' "$@"
