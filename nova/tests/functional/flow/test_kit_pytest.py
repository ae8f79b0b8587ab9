"""The hook test kit under pytest, as a vendor runs it.

nova.flow.testing says it is usable with pytest: its FlowTestCloud
fixture from testtools test cases collected by pytest, and its
``pytest_cloud`` fixture in pytest's own style.  This runs the example
hook package's suites (contrib/nova-example-hooks/tests: the testtools
one and the pytest one) with ``python -m pytest`` in a subprocess, from
the package's directory, as its vendor would, and requires every test to
pass.  nova's own runner stays stestr; pytest is a test requirement only
for this.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from nova import test

PACKAGE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..',
                       'contrib', 'nova-example-hooks')
SUITES = ['tests/test_special_sauce.py', 'tests/test_special_sauce_pytest.py']
TIMEOUT = 600


class TestExampleSuiteUnderPytest(test.TestCase):

    def test_every_test_passes(self):
        result = subprocess.run(
            [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
             *SUITES], cwd=os.path.abspath(PACKAGE), capture_output=True,
            text=True, timeout=TIMEOUT)
        output = result.stdout + result.stderr
        self.assertEqual(0, result.returncode, output)
        summary = re.search(r'(\d+) passed', output)
        self.assertIsNotNone(summary, output)
        # The testtools suite's 4 tests and the pytest suite's 2.
        self.assertEqual(6, int(summary.group(1)), output)
        self.assertNotIn(' failed', output)
        self.assertNotIn(' skipped', output)
