"""nova-manage flow contract: print, check and write contract snapshots.

The flows are test flows of the ``compute`` family (so they have a
snapshot path) and the snapshots live in a temporary tree (``--tree``).
"""

import contextlib
import io
import json
import os
from unittest import mock

import fixtures
from oslo_config import fixture as config_fixture

import nova.conf
from nova.flow import contract, sub
from nova.tests.unit.flow import fakes
from nova.tests.unit.flow.test_contract import demo_flow

with mock.patch('nova.concurrency.setup'):
    from nova.cmd import manage

CONF = nova.conf.CONF
NAME = 'compute.contract_demo'


def flow(*args, **kwargs):
    found = demo_flow(*args, **kwargs)
    found.name = NAME
    return found


class TestFlowContract(fakes.FlowTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(CONF))
        self.tree = self.useFixture(fixtures.TempDir()).path
        self.flows = [flow()]
        self.useFixture(fixtures.MockPatch(
            'nova.flow.registry.discover_flows',
            side_effect=lambda: (list(self.flows), [])))
        self.path = contract.snapshot_path(NAME, self.tree)

    def manage(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = manage.main(['flow', 'contract', *argv])
        return status, out.getvalue(), err.getvalue()

    def test_prints_text(self):
        status, out, err = self.manage(NAME)
        self.assertEqual(0, status, err)
        self.assertIn(f'{NAME} 1.0', out)
        self.assertIn(f'    {NAME}.grp.b', out)
        self.assertIn('  subject: str  [ro]', out)

    def test_prints_json(self):
        status, out, err = self.manage(NAME, '--format', 'json')
        self.assertEqual(0, status, err)
        found = json.loads(out)
        self.assertEqual(NAME, found['flow'])
        self.assertEqual(
            {'name': 'services', 'type':
             'nova.tests.unit.flow.test_contract.Services',
             'doc': 'What the stages call.', 'writable': False},
            found['fields'][0])

    def test_unknown_flow(self):
        status, out, err = self.manage('compute.nope')
        self.assertEqual(1, status)
        self.assertIn(f"no flow named 'compute.nope'; known flows: {NAME}",
                      err)

    def test_write_then_check(self):
        status, out, err = self.manage('--write', '--tree', self.tree)
        self.assertEqual(0, status, out)
        self.assertEqual(f'wrote {self.path}\n', out)
        with open(self.path) as stream:
            self.assertEqual(contract.contract_of(self.flows[0]).as_dict(),
                             json.load(stream))
        status, out, err = self.manage('--check', '--tree', self.tree)
        self.assertEqual(0, status, out)
        self.assertIn('1 flow contract(s) match their snapshots', out)

    def test_incompatible_change_is_reported_and_not_written(self):
        self.manage('--write', '--tree', self.tree)
        self.flows = [flow(entries=('a', sub('grp', ['b', 'd'])))]
        status, out, err = self.manage('--check', '--tree', self.tree)
        self.assertEqual(1, status)
        self.assertIn(f"[major] stage '{NAME}.grp.c' removed", out)
        self.assertIn('requires a major version bump: 1.0 -> 2.0', out)
        status, out, err = self.manage('--write', '--tree', self.tree)
        self.assertEqual(1, status)
        self.assertIn(f'snapshot {self.path} NOT written', out)
        with open(self.path) as stream:
            self.assertEqual('1.0', json.load(stream)['version'])

    def test_right_bump_is_written(self):
        self.manage('--write', '--tree', self.tree)
        self.flows = [flow('2.0', entries=('a', sub('grp', ['b', 'd'])),
                           changes={'2.0': 'c removed, d in grp.'})]
        status, out, err = self.manage('--write', '--tree', self.tree)
        self.assertEqual(0, status, out)
        self.assertIn(f'wrote {self.path}', out)
        with open(self.path) as stream:
            written = json.load(stream)
        self.assertEqual('2.0', written['version'])
        self.assertEqual('c removed, d in grp.', written['changes']['2.0'])

    def test_missing_snapshot_fails_the_check(self):
        status, out, err = self.manage('--check', '--tree', self.tree)
        self.assertEqual(1, status)
        self.assertIn(f'no snapshot at {self.path}', out)
        self.assertFalse(os.path.exists(self.path))
