"""What the tests of the single-host action flows share.

``ActionTestCase`` gives each test a LocalCloud with the fault-injection
hook package enabled (as a vendor would enable a hook), a user's context,
and helpers to act on a server through the real compute API and to read
back what a user sees: the server's states, its faults and the events of
an instance action (one per stage).
"""

from __future__ import annotations

from typing import Any

import fixtures
from nova_fault_injection_hooks import stage_ids

from nova import test
from nova.compute import vm_states
from nova.tests.functional import fixtures as func_fixtures


def past_point_of_no_return(stage_id: str) -> bool:
    """After its flow's point of no return: a failure there finishes
    the operation rather than undoing it."""
    from nova.flow import FlowEngine
    engine = FlowEngine.load()
    flow = stage_id.rsplit('.', 1)[0]
    while flow not in engine.plans:
        if '.' not in flow:
            raise KeyError(f'no registered flow has stage {stage_id}')
        flow = flow.rsplit('.', 1)[0]
    leaf = engine.plan(flow).leaves[stage_id]
    return leaf.committed and not leaf.commits


def failure_scenarios(flow: str, skip: tuple[str, ...] = (), *,
                      committed: bool = False) -> list[tuple[str, dict]]:
    """One testscenarios scenario per stage of ``flow`` before its point
    of no return (or, with ``committed``, after it)."""
    return [(stage_id.removeprefix(flow + '.'), {'stage_id': stage_id})
            for stage_id in stage_ids(flow)
            if stage_id.removeprefix(flow + '.') not in skip
            and past_point_of_no_return(stage_id) == committed]


class ActionTestCase(test.TestCase):

    cloud_options: dict[str, Any] = {}

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(func_fixtures.LocalCloud(
            flow__enabled_hooks=['fault_injection'], **self.cloud_options))
        self.ctx = self.cloud.user_context()
        self.api = self.cloud.compute_api
        self.manager = self.cloud.manager('compute1')
        self.driver = self.manager.driver

    # -- acting ----------------------------------------------------------

    def boot_active(self, **kwargs: Any) -> dict[str, Any]:
        instance = self.cloud.boot(self.ctx, **kwargs)
        return self.cloud.wait_for_state(instance['uuid'], vm_states.ACTIVE)

    def server(self, uuid: str) -> dict[str, Any]:
        found = self.cloud.instance(uuid)
        assert found is not None, f'instance {uuid} is gone'
        return found

    def act(self, method: str, uuid: str, *args: Any,
            ctx: Any = None, **kwargs: Any) -> Any:
        """Call compute_api.<method> on the server as the user would
        (with a fresh read of it, as the REST API does)."""
        return getattr(self.api, method)(ctx or self.ctx, self.server(uuid),
                                         *args, **kwargs)

    def inject(self, stage_id: str, kind: str = 'fail') -> None:
        """Make ``stage_id`` fail (or wait for a kill) from now on."""
        self.useFixture(fixtures.EnvironmentVariable(
            'NOVA_FAULT_AT', f'{stage_id}:{kind}'))

    def clear_fault(self) -> None:
        self.useFixture(fixtures.EnvironmentVariable('NOVA_FAULT_AT', ''))

    # -- what the user sees ----------------------------------------------

    def wait_for(self, uuid: str, vm_state: str) -> dict[str, Any]:
        return self.cloud.wait_for_state(uuid, vm_state)

    def events(self, uuid: str, action: str) -> list[dict[str, Any]]:
        """The events of the newest finished ``action``, in start order."""
        row = self.cloud.wait_for_action(uuid, action)
        events = self.cloud.db.action_events_get(self.cloud.ctx, row['id'])
        return sorted(events, key=lambda e: (e['start_time'], e['id']))

    def stage_names(self, uuid: str, action: str,
                    flow: str) -> list[str]:
        return [e['event'].removeprefix(flow + '.')
                for e in self.events(uuid, action)
                if e['event'].startswith(flow + '.')]

    def assert_all_succeeded(self, uuid: str, action: str,
                             flow: str) -> None:
        events = [e for e in self.events(uuid, action)
                  if e['event'].startswith(flow + '.')]
        self.assertEqual(
            [s.removeprefix(flow + '.') for s in stage_ids(flow)],
            [e['event'].removeprefix(flow + '.') for e in events])
        self.assertEqual({'Success'}, {e['result'] for e in events})

    def faults(self, uuid: str) -> list[dict[str, Any]]:
        """The server's faults, newest first."""
        return self.cloud.db.instance_fault_get_by_instance_uuids(
            self.cloud.ctx, [uuid])[uuid]

    def assert_failed_in(self, uuid: str, action: str,
                         stage_id: str) -> None:
        """The user sees the stage's Error event and the fault."""
        events = {e['event']: e for e in self.events(uuid, action)}
        self.assertEqual('Error', events[stage_id]['result'])
        self.assertIn('InjectedFault', events[stage_id]['traceback'])
        fault = self.faults(uuid)[0]
        self.assertEqual('InjectedFault', fault['message'])
        self.assertIn('injected failure in ' + stage_id, fault['details'])

    def wait_done(self, uuid: str, action: str) -> dict[str, Any]:
        """The server once the newest ``action`` finished (its task state
        may be cleared before a later stage fails and is reverted, so a
        cleared task alone does not say the flow ended)."""
        def finished() -> bool:
            for row in self.cloud.db.actions_get(self.cloud.ctx, uuid):
                if row['action'] == action:
                    return row['finish_time'] is not None
            return False
        func_fixtures.wait_for(finished, what=f'{action} of {uuid} to end')
        return self.server(uuid)

    def ended_runs(self, uuid: str, flow: str) -> list[dict[str, Any]]:
        return [r for r in self.cloud.db.flow_runs_get_by_instance(
            self.cloud.ctx, uuid)
            if r['flow'] == flow and r['status'] != 'running']

    def act_and_wait(self, flow: str, method: str, uuid: str, *args: Any,
                     **kwargs: Any) -> Any:
        """``act``, then wait until a new run of ``flow`` has ended: for
        requests whose action holds more than one run (attach_volume:
        reserve_block_device_name, then attach_volume), where the
        action's finish time says only that the first ended."""
        before = len(self.ended_runs(uuid, flow))
        result = self.act(method, uuid, *args, **kwargs)
        func_fixtures.wait_for(
            lambda: len(self.ended_runs(uuid, flow)) > before,
            what=f'{flow} of {uuid} to end')
        return result

    def power_state_on_hypervisor(self, uuid: str) -> int | None:
        record = self.driver.instance_record(uuid)
        return None if record is None else record['power_state']
