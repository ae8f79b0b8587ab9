#!/usr/bin/env bash
# The crash matrix (nova/tests/functional/compute/test_crash_matrix.py):
# each party of every flow killed before and after every stage, and a
# failure injected in every stage of every move, on real processes over
# RabbitMQ, MariaDB and PostgreSQL. About 420 cases, 4-5 s each on 2
# cores. It is not part of the default test command; CI runs it as a step
# of its own, with a time budget.
#
#   tools/run-crash-matrix.sh [REGEX]      every case (matching REGEX)
#   NOVA_CRASH_MATRIX_BUDGET=SECONDS tools/run-crash-matrix.sh
#
# With a budget the cases run in chunks of NOVA_CRASH_MATRIX_CHUNK (24),
# in the order `stestr list` gives them but starting at an offset that
# moves with the day (NOVA_CRASH_MATRIX_OFFSET overrides it), until the
# next chunk would not fit in the budget at the pace measured so far.
# Successive daily runs therefore cover the whole matrix even when one run
# covers only part of it. Cases left out for time are not failures; a case
# that fails is. The step prints the matrix size, the offset and how many
# cases ran, passed, failed and were left for time; the first chunk always
# runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export NOVA_TEST_CRASH_MATRIX=1
budget=${NOVA_CRASH_MATRIX_BUDGET:-0}
if [ "$budget" = 0 ]; then
    exec tools/run-tests.sh "test_crash_matrix${1:+.*$1}"
fi
tools/ensure-venv.sh
export PATH="$PWD/.venv/bin:$PATH"
concurrency=${NOVA_TEST_CONCURRENCY:-4}  # as tools/run-tests.sh
chunk=${NOVA_CRASH_MATRIX_CHUNK:-24}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

[ -d .stestr ] || stestr init > /dev/null
stestr list "test_crash_matrix${1:+.*$1}" > "$work/all" 2>/dev/null
total=$(wc -l < "$work/all")
if [ "$total" = 0 ]; then
    echo "crash matrix: no case matches" >&2
    exit 1
fi
# Days since the epoch, times a stride near the golden ratio of the
# matrix, so consecutive days start far apart.
day=$(( $(date -u +%s) / 86400 ))
offset=${NOVA_CRASH_MATRIX_OFFSET:-$(( day * (total * 618 / 1000 + 1) % total ))}
{ tail -n +"$(( offset + 1 ))" "$work/all"; head -n "$offset" "$work/all"; } \
    > "$work/ordered"
split -l "$chunk" -d -a 3 "$work/ordered" "$work/chunk."

echo "crash matrix: $total cases, budget ${budget}s, starting at case $offset"
start=$(date +%s)
ran=0 passed=0 failed=0 status=0
for list in "$work"/chunk.*; do
    size=$(wc -l < "$list")
    elapsed=$(( $(date +%s) - start ))
    if [ "$ran" -gt 0 ] && \
            [ $(( elapsed + elapsed * size / ran )) -gt "$budget" ]; then
        break
    fi
    stestr run --concurrency "$concurrency" --load-list "$list" \
        > "$work/log" 2>&1 || status=1
    cat "$work/log"
    python tools/failure-summary.py | tee -a "$work/failures"
    p=$(sed -n 's/^ - Passed: \([0-9]*\)/\1/p' "$work/log" | tail -1)
    f=$(sed -n 's/^ - Failed: \([0-9]*\)/\1/p' "$work/log" | tail -1)
    passed=$(( passed + ${p:-0} ))
    failed=$(( failed + ${f:-0} ))
    ran=$(( ran + size ))
done
left=$(( total - ran ))
echo "crash matrix: $total cases; $ran ran from case $offset in" \
     "$(( $(date +%s) - start ))s: $passed passed, $failed failed;" \
     "$left left for the next run (budget ${budget}s)"
if [ "$status" != 0 ] || [ "$failed" != 0 ]; then
    if [ -n "${NOVA_TEST_FAILURES_FILE:-}" ]; then
        if [ -s "$work/failures" ]; then
            cat "$work/failures" >> "$NOVA_TEST_FAILURES_FILE"
        else
            echo "FAIL crash matrix: stestr ended with an error and no" \
                 "failed test (see its output above)" >> "$NOVA_TEST_FAILURES_FILE"
        fi
    fi
    exit 1
fi
