#!/usr/bin/env python3
"""One line per failed test of the last stestr run: its ID and the last
line of its traceback (the exception), for the end of a CI log.

A CI log is often read only by its tail, and stestr prints a failure
where it happened, possibly thousands of lines before the end.  This
reads the last run's subunit stream (``stestr last --subunit``, stestr's
public command) and prints, for each test that failed:

    FAIL nova.tests....test_x: AssertionError: 'BUILD' != 'ACTIVE'

    tools/failure-summary.py [--max N]   (N lines at most, 40 by default)

Nothing is printed when no test failed.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys

import subunit
import testtools

STESTR = os.path.join(os.path.dirname(sys.executable), 'stestr')


def _last_line(test: dict) -> str:
    for name in ('traceback', 'reason'):
        content = test['details'].get(name)
        if content is None:
            continue
        text = content.as_text().strip()
        if text:
            return text.splitlines()[-1].strip()
    return test['status']


def failures(stream: bytes) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []

    def on_test(test: dict) -> None:
        if test['status'] in ('fail', 'uxsuccess'):
            found.append((test['id'], _last_line(test)))

    result = testtools.StreamToDict(on_test)
    result.startTestRun()
    try:
        subunit.ByteStreamToStreamResult(
            io.BytesIO(stream), non_subunit_name='stdout').run(result)
    finally:
        result.stopTestRun()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--max', type=int, default=40)
    args = parser.parse_args()
    proc = subprocess.run([STESTR, 'last', '--subunit'],
                          capture_output=True, check=False)
    if proc.returncode != 0 and not proc.stdout:
        print(f'failure summary: stestr last: '
              f'{proc.stderr.decode(errors="replace").strip()}')
        return 0
    found = failures(proc.stdout)
    for test_id, line in found[:args.max]:
        print(f'FAIL {test_id}: {line[:300]}')
    if len(found) > args.max:
        print(f'... and {len(found) - args.max} more failed tests')
    return 0


if __name__ == '__main__':
    sys.exit(main())
