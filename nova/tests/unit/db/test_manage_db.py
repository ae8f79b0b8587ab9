"""``nova-manage db sync`` and ``db version``."""

from __future__ import annotations

import contextlib
import io

import testscenarios

from nova import test
from nova.cmd import manage
from nova.db import migration
from nova.tests.fixtures import database

load_tests = testscenarios.load_tests_apply_scenarios


class ManageDBTestCase(test.TestCase):

    scenarios = database.BACKEND_SCENARIOS
    backend = 'sqlite'

    def setUp(self) -> None:
        super().setUp()
        # An empty database: the commands build the schema themselves.
        self.database = self.useFixture(
            database.Database(self.backend, migrate=False))

    def _manage(self, *argv: str) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = manage.main(list(argv))
        return code, out.getvalue()

    def test_version_sync_version(self):
        code, out = self._manage('db', 'version')
        self.assertEqual(1, code)
        self.assertIn('db sync', out)
        code, out = self._manage('db', 'sync')
        self.assertEqual(0, code)
        head = migration.head_version()
        self.assertIn(head, out)
        self.assertEqual((0, head + '\n'), self._manage('db', 'version'))
        # Again: nothing to do, still fine.
        self.assertEqual(0, self._manage('db', 'sync')[0])
