"""Finding flows through the nova.flows entry point namespace."""

import importlib.metadata
from unittest import mock

from stevedore import extension

from nova.flow import registry
from nova.tests.unit.flow import fakes


def _extension(name, plugin, value):
    entry_point = importlib.metadata.EntryPoint(name, value, 'nova.flows')
    return extension.Extension(name, entry_point, plugin, None)


class TestDiscoverFlows(fakes.FlowTestCase):

    def _discover(self, *extensions, failures=()):
        def manager(namespace, invoke_on_load, on_load_failure_callback):
            self.assertEqual('nova.flows', namespace)
            self.assertFalse(invoke_on_load)
            for entry_point, exc in failures:
                on_load_failure_callback(None, entry_point, exc)
            return mock.Mock(extensions=list(extensions))
        with mock.patch.object(registry.extension, 'ExtensionManager',
                               side_effect=manager):
            return registry.discover_flows()

    def test_flows_sorted_by_name(self):
        second = fakes.make_flow(name='test.zeta')
        first = fakes.make_flow(name='test.alpha')
        flows, problems = self._discover(
            _extension('test.zeta', second, 'tests.zeta:FLOW'),
            _extension('test.alpha', first, 'tests.alpha:FLOW'))
        self.assertEqual([first, second], flows)
        self.assertEqual([], problems)

    def test_entry_point_that_is_not_a_flow(self):
        flows, problems = self._discover(
            _extension('test.odd', object(), 'tests.odd:THING'))
        self.assertEqual([], flows)
        (problem,) = problems
        self.assertIn("entry point 'tests.odd:THING', stage 'test.odd': "
                      "entry point refers to <object", str(problem))

    def test_entry_point_named_unlike_its_flow(self):
        flows, problems = self._discover(_extension(
            'test.other', fakes.make_flow(name='test.demo'),
            'tests.demo:FLOW'))
        self.assertEqual([], flows)
        self.assertIn("entry point is named 'test.other' but the flow is "
                      "'test.demo'", str(problems[0]))

    def test_flow_module_that_fails_to_import(self):
        broken = importlib.metadata.EntryPoint(
            'test.broken', 'tests.broken:FLOW', 'nova.flows')
        flows, problems = self._discover(
            failures=[(broken, ImportError('no module named tests.broken'))])
        self.assertEqual([], flows)
        self.assertIn("entry point 'tests.broken:FLOW', stage 'test.broken':"
                      " flow module cannot be imported: ImportError: no "
                      "module named tests.broken", str(problems[0]))
