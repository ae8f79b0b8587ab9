#!/usr/bin/env python3
"""Each test's duration, kept in the tree so that stestr balances its
workers on a fresh checkout.

stestr splits the tests between its workers before they start, by the
durations it recorded in earlier runs (``.stestr/times.dbm``); a test
it has no duration for is dealt out round-robin.  A fresh checkout (CI)
has no earlier run, so the long functional classes can pile up on one
worker: 27 against 42 minutes in one CI run.  This keeps the durations
of the last full run in ``tools/test-times.txt`` and gives them to
stestr as a run of its own, with stestr's public ``load`` command:

    tools/test-times.py save   # after a full `stestr run`: write the file
    tools/test-times.py save --run ID   # that run of `stestr history list`
    tools/test-times.py seed   # no .stestr yet: load the durations

The seeded run reports every test as skipped ("duration hint"), so it
is never mistaken for a result: ``stestr last`` and ``stestr failing``
show the real run that follows.  A test missing from the file (a new
one) is dealt out round-robin, as before; a test the file names but the
tree no longer has is ignored by stestr.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import subprocess
import sys

import subunit
import testtools

HERE = os.path.dirname(os.path.abspath(__file__))
TIMES = os.path.join(HERE, 'test-times.txt')
STESTR = os.path.join(os.path.dirname(sys.executable), 'stestr')


def save(path: str, run: str | None = None) -> int:
    """Write the durations of the tests that ran (passed or failed) in
    stestr's last run (or run ``run`` of ``stestr history list``: the
    default suite's, when the crash matrix ran after it), longest first:
    ``<seconds> <test id>`` per line."""
    command = ([STESTR, 'last', '--subunit'] if run is None else
               [STESTR, 'history', 'show', run, '--subunit'])
    stream = subprocess.run(command, check=True,
                            capture_output=True).stdout
    times: dict[str, float] = {}

    def record(test: dict) -> None:
        start, stop = test['timestamps']
        if test['status'] in ('success', 'fail') and start and stop:
            times[test['id']] = (stop - start).total_seconds()

    case = subunit.ByteStreamToStreamResult(io.BytesIO(stream))
    result = testtools.StreamToDict(record)
    result.startTestRun()
    case.run(result)
    result.stopTestRun()
    if not times:
        print('no test ran in the last stestr run', file=sys.stderr)
        return 1
    with open(path, 'w') as out:
        out.write('# tools/test-times.py save: seconds per test, for '
                  "stestr's worker balance\n")
        for test_id, seconds in sorted(times.items(),
                                       key=lambda kv: (-kv[1], kv[0])):
            out.write(f'{seconds:.2f} {test_id}\n')
    print(f'{len(times)} durations written to {path}')
    return 0


def seed(path: str) -> int:
    """Load the durations as a run of skipped tests into a new stestr
    repository (none is made if one exists already)."""
    if os.path.exists('.stestr'):
        return 0
    buf = io.BytesIO()
    out = subunit.StreamResultToBytes(buf)
    start = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
    count = 0
    with open(path) as times:
        for line in times:
            if line.startswith('#') or not line.strip():
                continue
            seconds, test_id = line.split(maxsplit=1)
            test_id = test_id.strip()
            out.status(test_id=test_id, test_status='inprogress',
                       timestamp=start)
            out.status(test_id=test_id, test_status='skip',
                       timestamp=start + datetime.timedelta(
                           seconds=float(seconds)),
                       file_name='reason', mime_type='text/plain',
                       file_bytes=b'duration hint', eof=True)
            count += 1
    subprocess.run([STESTR, 'load', '--force-init'], input=buf.getvalue(),
                   check=True, stdout=subprocess.DEVNULL)
    print(f'stestr: {count} test durations seeded from {path}')
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('command', choices=('save', 'seed'))
    parser.add_argument('--file', default=TIMES)
    parser.add_argument('--run', default=None,
                        help='save: the stestr run ID (default: the last)')
    args = parser.parse_args()
    return (save(args.file, args.run) if args.command == 'save'
            else seed(args.file))


if __name__ == '__main__':
    sys.exit(main())
