"""Hooks are typed against their flow's state: mypy checks a vendor's hook.

A vendor module (written to a temporary directory, as a vendor's package
would be) is checked with mypy's API: the hook decorators keep the
decorated method's type, and given ``FLOW.at(path)`` - a stage ID typed
with the flow's state - they make mypy reject a hook whose ``state``
parameter is not the flow's state type.
"""

import os
import re
import textwrap

import fixtures
from mypy import api as mypy_api

from nova import test
from nova.flow import Flow, spec

VENDOR = '''\
import dataclasses
from collections.abc import Callable
from typing import Any

from nova.flow import Flow, hooks


@dataclasses.dataclass
class DemoState:
    log: list[str]


class Other:
    pass


FLOW: Flow[DemoState] = Flow('test.typed', '1.0', DemoState)


class Vendor(hooks.Hook):
    supports = {'test.typed': '1.0'}

    @hooks.before(FLOW.at('a'))
    def good(self, ctx: Any, state: DemoState) -> None:
        state.log.append('good')

    @hooks.after(FLOW.at('a'))  # MARK:wrong-state
    def wrong_state(self, ctx: Any, state: Other) -> None:
        pass

    @hooks.around(FLOW.at('a'))
    def wrapped(self, ctx: Any, state: DemoState,
                proceed: Callable[[], Any]) -> Any:
        return proceed()

    @hooks.replace('test.typed.a')
    def by_string(self, ctx: Any, state: DemoState) -> None:
        state.log.append(1)  # MARK:wrong-field-use


reveal_type(Vendor.good)  # MARK:reveal
Vendor().by_string(None, Other())  # MARK:wrong-call
'''


class TestTypedHooks(test.TestCase):

    def test_stage_ref_is_the_stage_id(self):
        flow = Flow('test.typed', '1.0', object)
        ref = flow.at('grp.a')
        self.assertEqual('test.typed.grp.a', ref)
        self.assertIsInstance(ref, spec.StageRef)

    def test_mypy_checks_a_vendor_hook_against_the_state(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'vendor_hook.py')
        with open(path, 'w') as stream:
            stream.write(textwrap.dedent(VENDOR))
        out, err, status = mypy_api.run([
            '--cache-dir', os.path.join(tmp, 'cache'),
            '--ignore-missing-imports', '--follow-imports', 'silent',
            '--no-error-summary', '--show-error-codes', path])
        found = {}
        for line in out.splitlines():
            match = re.match(r'.*vendor_hook\.py:(\d+): (\w+): (.*)$', line)
            if match:
                found.setdefault(int(match.group(1)), []).append(
                    match.group(3))
        lines = {m.group(1): n for n, text in enumerate(
            VENDOR.splitlines(), 1) if (m := re.search(r'MARK:(\S+)', text))}
        self.assertEqual(set(lines.values()), set(found), out + err)
        wrong_state = found[lines['wrong-state']][0]
        self.assertIn('"Callable[[Vendor, Any, Other], None]"; expected '
                      '"Callable[[Vendor, Any, DemoState], None]"',
                      wrong_state)
        self.assertIn('"append" of "list" has incompatible type "int"',
                      found[lines['wrong-field-use']][0])
        self.assertIn('def (vendor_hook.Vendor, Any, vendor_hook.DemoState)',
                      found[lines['reveal']][0])
        self.assertIn('"by_string" of "Vendor" has incompatible type '
                      '"Other"', found[lines['wrong-call']][0])


GUIDE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..',
                     'docs', 'vendor-guide.md')

#: Added to the vendor guide's typed example: a method typed with
#: another state than the flow's.
WRONG_STATE = '''

class WrongState(hooks.Hook):
    supports = {build_instance.FLOW.name: '1.0'}

    @hooks.after(build_instance.FLOW.at('claim_resources'))
    def note(self, ctx: Any, state: int) -> None:
        pass
'''


class TestVendorGuideTypedExample(test.TestCase):

    def test_the_guides_example_types_against_the_build_state(self):
        with open(GUIDE) as stream:
            guide = stream.read()
        section = guide[guide.index('**Typing a hook.**'):]
        example = re.search(r'```python\n(.*?)```', section, re.DOTALL)
        assert example is not None
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'guide_hook.py')
        with open(path, 'w') as stream:
            stream.write(example.group(1) + WRONG_STATE)
        out, err, status = mypy_api.run([
            '--cache-dir', os.path.join(tmp, 'cache'),
            '--follow-imports', 'silent', '--no-error-summary', path])
        errors = [line for line in out.splitlines() if ': error:' in line]
        self.assertEqual(1, len(errors), out + err)
        self.assertIn('"Callable[[WrongState, Any, int], None]"; expected '
                      '"Callable[[WrongState, Any, BuildState], None]"',
                      errors[0])
