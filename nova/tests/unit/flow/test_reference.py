"""docs/flow-reference.md says what the code says.

The file is generated (tools/generate-flow-reference.sh); this test fails
while it is stale, naming the command that brings it up to date.
"""

import dataclasses
import os

from nova import test
from nova.flow import reference
from nova.flow.registry import discover_flows
from nova.tests.unit.flow import fakes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))))
PATH = os.path.join(ROOT, 'docs', 'flow-reference.md')


class TestFlowReference(test.TestCase):

    def test_committed_reference_is_current(self):
        flows, problems = discover_flows()
        self.assertEqual([], problems)
        with open(PATH) as f:
            committed = f.read()
        self.assertTrue(
            committed == reference.render_reference(flows),
            'docs/flow-reference.md is stale: run '
            'tools/generate-flow-reference.sh and commit the result')

    def test_every_flow_and_stage_is_listed(self):
        flows, _ = discover_flows()
        text = reference.render_reference(flows)
        for flow in flows:
            self.assertIn(f'## {flow.name}\n', text)
        self.assertIn('10.2. driver_spawn  [reverts]', text)
        self.assertIn('| `network_info` |', text)

    def test_a_changed_flow_makes_the_reference_differ(self):
        flows, _ = discover_flows()
        before = reference.render_reference(flows)
        changed = [fakes.make_flow(name='compute.zz_new')] + list(flows)
        self.assertNotEqual(before, reference.render_reference(changed))


@dataclasses.dataclass
class Documented:
    #: Said above the field.
    plain: int = 0
    #: Overridden by the metadata.
    meta: str = dataclasses.field(default='', metadata={'doc': 'From doc.'})
    bare: str = ''


class TestFieldDocs(test.TestCase):

    def test_comment_and_metadata(self):
        self.assertEqual({'plain': 'Said above the field.',
                          'meta': 'From doc.'},
                         reference.field_docs(Documented))
