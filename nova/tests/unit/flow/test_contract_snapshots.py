"""Every registered flow's contract against its committed snapshot.

When a flow's stages or state change, this fails with what changed and
the version bump it requires; once the flow's version and changelog say
so, ``tools/update-flow-contracts`` rewrites the snapshot.
"""

import glob
import os

from nova import test
from nova.flow import contract, registry


class TestContractSnapshots(test.TestCase):

    def setUp(self):
        super().setUp()
        self.flows, problems = registry.discover_flows()
        self.assertEqual([], problems)

    def test_every_flow_matches_its_snapshot(self):
        reports = []
        for flow in self.flows:
            verdict, path = contract.check_flow(flow)
            self.assertIsNotNone(path, f'{flow.name}: no snapshot family')
            if verdict is None:
                reports.append(f'flow {flow.name}: no snapshot at {path}')
            elif not verdict.identical:
                hint = ('  the version is right: run '
                        'tools/update-flow-contracts'
                        if not verdict.problems else '')
                reports.append(verdict.report() + '\n' + hint)
        self.assertEqual([], reports, '\n'.join(reports))

    def test_every_state_field_is_documented(self):
        missing = [f'{flow.name}: {field.name}' for flow in self.flows
                   for field in contract.state_fields(flow.state_type)
                   if not field.doc]
        self.assertEqual([], missing, 'state fields without a doc (a '
                         "'#:' comment or contract.meta(doc=...))")

    def test_no_snapshot_of_a_flow_that_is_gone(self):
        expected = {contract.snapshot_path(f.name) for f in self.flows}
        found = set()
        for where in contract.SNAPSHOT_DIRS.values():
            found.update(glob.glob(os.path.join(contract.TREE, where,
                                                '*.json')))
        self.assertEqual(set(), found - expected)

    def test_every_family_has_snapshots(self):
        families = {f.name.split('.')[0] for f in self.flows}
        self.assertEqual({'api', 'compute', 'conductor'}, families)

    def test_every_contract_has_its_changelog_entry(self):
        for flow in self.flows:
            found = contract.contract_of(flow)
            self.assertIn(found.version, found.changes, flow.name)
