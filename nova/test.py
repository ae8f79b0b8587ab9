"""The base class of nova's own tests (upstream's ``nova.test``).

Its one job here: a test that hangs fails, instead of holding up the
whole run. Every test gets a time limit, ``OS_TEST_TIMEOUT`` seconds
(the variable oslotest and upstream's tox.ini use; 0 turns it off):

* at the limit, ``fixtures.Timeout`` raises ``TimeoutException`` in the
  test (gentle: the test's cleanups still run), so the test fails with
  the traceback of where it waited;
* if the test is still not over ``HARD_GRACE`` seconds later (a cleanup
  that hangs too), ``faulthandler`` prints every thread's stack to
  stderr and ends the worker process, which stestr reports as a failure.

Without it, one hung wait (a thread that never sets its event, a service
that never answers) stops a CI run only at the CI's own limit, with no
trace of which test it was.
"""

from __future__ import annotations

import faulthandler
import os

import fixtures
import testtools

#: Seconds a test may take when OS_TEST_TIMEOUT is not set. The slowest
#: tests (a real QEMU guest resized and migrated twice) take about 100 s
#: on a loaded 2-core machine.
DEFAULT_TIMEOUT = 480
#: Seconds after the limit before the worker is ended.
HARD_GRACE = 60


class TestTimeout(fixtures.Fixture):
    """Fail the test after ``seconds``; end the process ``grace``
    seconds later, printing every thread's stack."""

    def __init__(self, seconds: int, grace: int = HARD_GRACE) -> None:
        super().__init__()
        self.seconds = seconds
        self.grace = grace

    def _setUp(self) -> None:
        if self.seconds <= 0:
            return
        faulthandler.dump_traceback_later(self.seconds + self.grace,
                                          exit=True)
        self.addCleanup(faulthandler.cancel_dump_traceback_later)
        self.useFixture(fixtures.Timeout(self.seconds, gentle=True))


def timeout_seconds() -> int:
    """OS_TEST_TIMEOUT, or DEFAULT_TIMEOUT; a bad value is an error that
    names the variable."""
    value = os.environ.get('OS_TEST_TIMEOUT', '')
    if not value:
        return DEFAULT_TIMEOUT
    try:
        return int(value)
    except ValueError:
        raise ValueError(f'OS_TEST_TIMEOUT must be a whole number of '
                         f'seconds, not {value!r}') from None


class TestCase(testtools.TestCase):
    """testtools' TestCase with a time limit (see the module docstring)."""

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(TestTimeout(timeout_seconds()))
