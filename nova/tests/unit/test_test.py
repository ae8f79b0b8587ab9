"""nova.test: a test that hangs fails instead of holding up the run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import fixtures

from nova import test


class TestTimeout(test.TestCase):

    def test_a_hung_wait_fails_at_the_limit(self):
        # (It replaces this test's own limit, which its cleanup ends.)
        started = time.monotonic()
        timeout = test.TestTimeout(1, grace=30)
        timeout.setUp()
        try:
            self.assertRaises(fixtures.TimeoutException,
                              threading.Event().wait, 10)
        finally:
            timeout.cleanUp()
        self.assertLess(time.monotonic() - started, 5)

    def test_a_hung_cleanup_ends_the_process_with_every_stack(self):
        # The hung test runs in a child: the backstop ends its process.
        child = textwrap.dedent('''
            import threading
            from nova import test
            timeout = test.TestTimeout(1, grace=1)
            timeout.setUp()
            try:
                threading.Event().wait(10)
            except BaseException:
                threading.Event().wait(10)   # the cleanup hangs too
            print('not ended')
        ''')
        started = time.monotonic()
        proc = subprocess.run([sys.executable, '-c', child],
                              capture_output=True, text=True, timeout=30)
        self.assertLess(time.monotonic() - started, 8)
        self.assertNotEqual(0, proc.returncode)
        self.assertNotIn('not ended', proc.stdout)
        self.assertIn('Timeout (0:00:02)!', proc.stderr)
        self.assertIn('most recent call first', proc.stderr)

    def test_zero_turns_the_limit_off(self):
        self.useFixture(fixtures.EnvironmentVariable('OS_TEST_TIMEOUT', '0'))
        self.assertEqual(0, test.timeout_seconds())
        timeout = test.TestTimeout(0)
        timeout.setUp()
        timeout.cleanUp()

    def test_bad_value_names_the_variable(self):
        self.useFixture(fixtures.EnvironmentVariable('OS_TEST_TIMEOUT',
                                                     'soon'))
        error = self.assertRaises(ValueError, test.timeout_seconds)
        self.assertIn('OS_TEST_TIMEOUT', str(error))
