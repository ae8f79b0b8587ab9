"""Every registered flow has its own test module, on the kit.

Issue 20's proof: a reviewer reads ``nova/compute/flows/<flow>.py`` next
to ``nova/tests/unit/compute/flows/test_<flow>.py`` (the conductor's and
the API's flows the same), and those modules are written with the kit
vendors get (``nova.flow.testing``, through the compute flows' kit or
the API flows' kit, which adds the REST API).  This keeps it true for
every flow registered in ``nova.flows``, new ones included.
"""

from __future__ import annotations

import glob
import os
import re

from nova import test
from nova.flow import registry

TESTS = os.path.join(os.path.dirname(__file__), '..')
#: Flow family -> the directory of its per-flow test modules.
FAMILIES = {'compute': os.path.join(TESTS, 'compute', 'flows'),
            'conductor': os.path.join(TESTS, 'conductor', 'flows'),
            'api': os.path.join(TESTS, 'api', 'openstack', 'compute',
                                'flows')}
#: How a module uses the kit: the vendors' one or nova's wrappers of it.
USES_KIT = re.compile(r'^from nova\.(flow import testing|tests\.unit\.'
                      r'(api\.openstack\.)?compute\.flows import kit)\b',
                      re.MULTILINE)


def _flows() -> list[str]:
    flows, problems = registry.discover_flows()
    assert not problems, problems
    return [flow.name for flow in flows
            if flow.name.split('.')[0] in FAMILIES]


class TestPerFlowTestModules(test.TestCase):

    def test_every_flow_has_its_module_written_with_the_kit(self):
        missing, without_kit, without_tests = [], [], []
        for name in _flows():
            family, flow = name.split('.', 1)
            path = os.path.join(FAMILIES[family], f'test_{flow}.py')
            if not os.path.exists(path):
                missing.append(name)
                continue
            with open(path) as f:
                text = f.read()
            if not USES_KIT.search(text):
                without_kit.append(path)
            if not re.search(r'^    def test_', text, re.MULTILINE):
                without_tests.append(path)
        self.assertEqual([], missing, 'flows without a test module')
        self.assertEqual([], without_kit, 'test modules not on the kit')
        self.assertEqual([], without_tests, 'test modules without tests')

    def test_no_module_of_a_flow_that_is_gone(self):
        flows = set(_flows())
        stale = []
        for family, directory in FAMILIES.items():
            for path in glob.glob(os.path.join(directory, 'test_*.py')):
                flow = os.path.basename(path)[len('test_'):-len('.py')]
                if f'{family}.{flow}' not in flows:
                    stale.append(path)
        self.assertEqual([], stale)
