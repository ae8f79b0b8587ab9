#!/usr/bin/env bash
# Run nova's tests: lint (ruff), types (mypy), then every unit and
# functional test with stestr.
# Tests that need a real service (MariaDB, PostgreSQL, RabbitMQ, libvirtd,
# Keystone, Glance) skip when it is not reachable or not installed,
# unless NOVA_TEST_REQUIRE_SERVICES=1 (CI), where they fail.
# Extra arguments are passed to "stestr run" (e.g. a test filter regex).
# The long crash matrix (test_crash_matrix) runs only with
# NOVA_TEST_CRASH_MATRIX=1: see tools/run-crash-matrix.sh.
# Then, without a filter (or with NOVA_TEST_CONTRIB=1), the example hook
# packages' own test suites (contrib/*/tests, written with the hook test
# kit nova.flow.testing), each run as a vendor runs it: with unittest,
# then their tests/*_pytest.py with pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/ensure-venv.sh
export PATH="$PWD/.venv/bin:$PATH"
ruff check nova bench tools contrib
mypy  # mypy.ini: the whole nova tree
mypy --strict --follow-imports=silent nova/flow  # the engine and hook API vendors type against
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# Four workers, each running tests that start several services with
# database connection pools, need more connections than MariaDB's
# default 151: raise the running server's limit (not persisted) when it
# is lower and can be raised. Nothing happens if MariaDB is not there.
python - <<'PY' || true
import os, sqlalchemy
url = os.environ.get('NOVA_TEST_MYSQL_URL', 'mysql+pymysql://root@127.0.0.1:3306/')
try:
    with sqlalchemy.create_engine(url).connect() as conn:
        if conn.exec_driver_sql('SELECT @@GLOBAL.max_connections').scalar() < 1000:
            conn.exec_driver_sql('SET GLOBAL max_connections = 1000')
            print('MariaDB: max_connections raised to 1000 for the test workers')
except sqlalchemy.exc.SQLAlchemyError as exc:
    print(f'MariaDB: max_connections left as it is ({type(exc).__name__})')
PY
# A fresh checkout has no .stestr: give stestr the durations of the
# last full run (tools/test-times.txt), so that it balances its workers.
python tools/test-times.py seed
# The crash matrix is a step of its own (tools/run-crash-matrix.sh).
exclude=(--exclude-regex 'test_crash_matrix')
if [ "${NOVA_TEST_CRASH_MATRIX:-0}" = 1 ]; then exclude=(); fi
# Four workers on two cores: most of a test's time is spent waiting (an
# RPC server's idle threads winding down at a service's stop, a process
# starting, a poll), not computing. Measured on 2 cores: 64 hook-kit
# tests took 88 s with 2 workers, 50 s with 3 and 43 s with 4.
stestr run --concurrency "${NOVA_TEST_CONCURRENCY:-4}" "${exclude[@]}" "$@" \
    2>&1 | tee "$log" || status=$?
passed=$(sed -n 's/^ - Passed: \([0-9]*\)/\1/p' "$log" | tail -1)
failed=$(sed -n 's/^ - Failed: \([0-9]*\)/\1/p' "$log" | tail -1)
skipped=$(sed -n 's/^ - Skipped: \([0-9]*\)/\1/p' "$log" | tail -1)
echo "tests: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
# The failed tests again, one line each, where a reader of the log's
# tail finds them; also kept in NOVA_TEST_FAILURES_FILE when it is set
# (.ci/run prints it again at its very end).
summary=$(python tools/failure-summary.py)
if [ -n "$summary" ]; then
    echo "$summary"
    if [ -n "${NOVA_TEST_FAILURES_FILE:-}" ]; then
        echo "$summary" >> "$NOVA_TEST_FAILURES_FILE"
    fi
fi
if [ "${passed:-0}" = 0 ] && [ "$status" = 0 ]; then
    echo "no test ran" >&2
    exit 1
fi
if [ $# = 0 ] || [ "${NOVA_TEST_CONTRIB:-0}" = 1 ]; then
    for tests in contrib/*/tests; do
        pkg=$(dirname "$tests")
        if (cd "$pkg" && "$OLDPWD/.venv/bin/python" -m unittest discover \
                -s tests -t . 2>"$log"); then
            echo "$pkg: $(grep '^Ran ' "$log")  OK"
        else
            cat "$log"
            echo "$pkg: FAILED" >&2
            if [ -n "${NOVA_TEST_FAILURES_FILE:-}" ]; then
                echo "FAIL $pkg: its own tests" >> "$NOVA_TEST_FAILURES_FILE"
            fi
            status=1
        fi
        # The suites written in pytest's own style (the kit's
        # pytest_cloud fixture), which unittest does not see.
        suites=$(cd "$pkg" && ls tests/*_pytest.py 2>/dev/null || true)
        if [ -z "$suites" ]; then
            continue
        fi
        # shellcheck disable=SC2086  # one argument per suite file
        if (cd "$pkg" && "$OLDPWD/.venv/bin/python" -m pytest -q \
                -p no:cacheprovider $suites >"$log" 2>&1); then
            echo "$pkg: pytest $(grep -E '^[0-9]+ passed' "$log")"
        else
            cat "$log"
            echo "$pkg: pytest FAILED" >&2
            if [ -n "${NOVA_TEST_FAILURES_FILE:-}" ]; then
                echo "FAIL $pkg: its own pytest tests" \
                    >> "$NOVA_TEST_FAILURES_FILE"
            fi
            status=1
        fi
    done
fi
exit "$status"
