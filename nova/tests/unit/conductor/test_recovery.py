"""nova-conductor recovers its own interrupted flow runs at start.

A run is cut the way a crash cuts it (a BaseException inside a stage
leaves it ``running`` in the database); a new ConductorManager on the
same host - new recorder, new engine, nothing in memory - finishes or
reverts it by its flow's policy in ``init_host``, and leaves alone the
runs of nova-compute recorded under the same host name (nova-all).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any
from unittest import mock

from oslo_config import fixture as config_fixture
from oslo_db import exception as db_exc

import nova.conf
from nova import context
from nova.conductor import manager as conductor_manager
from nova.db import api as db
from nova.db import recorder as db_recorder
from nova.flow import RESUME, REVERT, Flow, FlowEngine
from nova.flow.spec import InterruptPolicy
from nova.tests.fixtures import rpc as rpc_fixture
from nova.tests.unit.db import base

CONF = nova.conf.CONF
HOST = 'host-a'


class Crash(BaseException):
    """The process dying inside a stage."""


@dataclasses.dataclass
class DemoState:
    conductor: Any
    instance: dict[str, Any]
    crash_in: str | None = None
    ran: list[str] = dataclasses.field(default_factory=list)
    reverted: list[str] = dataclasses.field(default_factory=list)


#: The states the recovered runs load, by instance UUID (what a real
#: flow's load_state reads from the database).
LOADED: dict[str, DemoState] = {}


def _load_state(ctx: Any, run: Any, services: Any) -> DemoState:
    instance = services.db.instance_get_by_uuid(ctx, run.subject)
    state = LOADED[run.subject] = DemoState(services, instance)
    return state


def demo_flow(name: str, policy: InterruptPolicy) -> Flow:
    flow = Flow(name, '1.0', DemoState, on_interrupt=policy,
                subject=lambda state: state.instance['uuid'],
                load_state=_load_state)
    flow.stages('a', 'b', 'c')

    def make(stage: str) -> tuple[Any, Any]:
        def execute(ctx: Any, state: DemoState) -> None:
            if state.crash_in == stage:
                raise Crash()
            state.ran.append(stage)

        def revert(ctx: Any, state: DemoState, failure: Any) -> None:
            state.reverted.append(stage)
        return execute, revert

    for stage in ('a', 'b', 'c'):
        execute, revert = make(stage)
        flow.stage(execute, name=stage)
        flow.revert(stage)(revert)
    return flow


FLOWS = [demo_flow('conductor.test_resume', RESUME),
         demo_flow('conductor.test_revert', REVERT),
         demo_flow('compute.test_resume', RESUME)]


class TestConductorRecovery(base.DBTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(rpc_fixture.RPCFixture())
        self.config = self.useFixture(config_fixture.Config(CONF))
        LOADED.clear()

    def manager(self) -> conductor_manager.ConductorManager:
        """A conductor as a (re)started process has it."""
        recorder = db_recorder.DBRecorder(HOST)
        return conductor_manager.ConductorManager(
            HOST, db, recorder, engine=FlowEngine.load(
                flows=FLOWS, recorder=recorder, host=HOST))

    def crash(self, flow: str, stage: str) -> str:
        """A run of ``flow`` cut in ``stage``; the instance's UUID."""
        instance = db.instance_create(self.ctx, {'display_name': flow})
        db.action_start(self.ctx, instance['uuid'], 'delete')
        manager = self.manager()
        self.assertRaises(Crash, manager.flows.run, flow, self.ctx,
                          DemoState(manager.services, instance,
                                    crash_in=stage))
        return instance['uuid']

    def status(self, uuid: str) -> str:
        (run,) = db.flow_runs_get_by_instance(self.admin, uuid)
        return run['status']

    def test_init_host_resumes_or_reverts_by_policy(self):
        resumed = self.crash('conductor.test_resume', 'b')
        reverted = self.crash('conductor.test_revert', 'c')
        self.manager().init_host()

        self.assertEqual(['b', 'c'], LOADED[resumed].ran)
        self.assertEqual('success', self.status(resumed))
        self.assertEqual(['c', 'b', 'a'], LOADED[reverted].reverted)
        self.assertEqual('reverted', self.status(reverted))
        # The runs finished their instance actions.
        for uuid in (resumed, reverted):
            (action,) = db.actions_get(self.admin, uuid)
            self.assertIsNotNone(action['finish_time'])
        self.assertEqual([], db_recorder.DBRecorder().unfinished_runs(
            self.admin, HOST))

    def test_compute_runs_on_the_same_host_are_left_to_compute(self):
        compute_run = self.crash('compute.test_resume', 'b')
        self.assertEqual(0, self.manager().recover_interrupted_runs(
            self.admin))
        self.assertEqual('running', self.status(compute_run))
        self.assertNotIn(compute_run, LOADED)

    def test_run_of_a_vanished_instance_is_closed(self):
        uuid = self.crash('conductor.test_resume', 'a')
        db.instance_destroy(self.admin, uuid)  # soft: not found any more
        self.manager().init_host()
        self.assertEqual('error', self.status(uuid))
        self.assertNotIn(uuid, LOADED)

    def test_recovery_can_be_turned_off(self):
        uuid = self.crash('conductor.test_resume', 'b')
        self.config.config(recover_interrupted_flows=False,
                           group='conductor')
        self.manager().init_host()
        self.assertEqual('running', self.status(uuid))

    def test_the_context_of_a_recovered_run_is_its_request(self):
        uuid = self.crash('conductor.test_resume', 'b')
        (run,) = db_recorder.DBRecorder().unfinished_runs(self.admin, HOST)
        ctx = context.for_run(run)
        self.assertEqual((self.ctx.request_id, 'fake-user', 'fake-project',
                          True),
                         (ctx.request_id, ctx.user_id, ctx.project_id,
                          ctx.is_admin))
        self.assertEqual(uuid, run.subject)


class TestAbandonedRunRecovery(base.DBTestCase):
    """A run that stopped while the service runs, its record unfinished
    (the database unreachable past the retries), is recovered by the
    running service's periodic check, not only by a restart."""

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(rpc_fixture.RPCFixture())
        self.config = self.useFixture(config_fixture.Config(CONF))
        LOADED.clear()
        self.manager = TestConductorRecovery.manager(self)  # type: ignore

    def abandon(self, flow: str) -> str:
        """A run of ``flow`` whose end could not be recorded; the
        instance's UUID."""
        instance = db.instance_create(self.ctx, {'display_name': flow})
        db.action_start(self.ctx, instance['uuid'], 'delete')
        lost = db_exc.DBConnectionError(ConnectionRefusedError('down'))
        with mock.patch.object(db_recorder.DBRecorder, 'run_finished',
                               side_effect=lost):
            self.assertRaises(db_exc.DBConnectionError,
                              self.manager.flows.run, flow, self.ctx,
                              DemoState(self.manager.services, instance))
        return instance['uuid']

    def status(self, uuid: str) -> str:
        (run,) = db.flow_runs_get_by_instance(self.admin, uuid)
        return run['status']

    def test_abandoned_runs_are_recovered_by_policy(self):
        resumed = self.abandon('conductor.test_resume')
        reverted = self.abandon('conductor.test_revert')
        self.assertEqual('running', self.status(resumed))

        self.assertEqual(2, self.manager.recover_abandoned_runs(self.admin))

        self.assertEqual('success', self.status(resumed))
        self.assertEqual('reverted', self.status(reverted))
        self.assertEqual(['c', 'b', 'a'], LOADED[reverted].reverted)
        self.assertEqual([], db_recorder.DBRecorder().unfinished_runs(
            self.admin, HOST))
        (run,) = db.flow_runs_get_by_instance(self.admin, reverted)
        self.assertIn('reverted by the running service (its record could '
                      'not be written)', run['message'])
        # Nothing left for the next check.
        self.assertEqual(0, self.manager.recover_abandoned_runs(self.admin))

    def test_a_run_going_on_in_this_process_is_left_alone(self):
        instance = db.instance_create(self.ctx, {'display_name': 'busy'})
        inside, release = threading.Event(), threading.Event()

        class Waiting(list):
            """Stage b waits here (in the stage) until released."""

            def append(self, stage: str) -> None:
                if stage == 'b':
                    inside.set()
                    release.wait(30)
                super().append(stage)

        state = DemoState(self.manager.services, instance, ran=Waiting())
        thread = threading.Thread(target=self.manager.flows.run, args=(
            'conductor.test_resume', self.ctx, state))
        thread.start()
        self.addCleanup(thread.join, 30)
        self.addCleanup(release.set)
        self.assertTrue(inside.wait(30))

        self.assertEqual(0, self.manager.recover_abandoned_runs(self.admin))
        self.assertNotIn(instance['uuid'], LOADED)
        self.assertEqual('running', self.status(instance['uuid']))
        release.set()
        thread.join(30)
        self.assertEqual('success', self.status(instance['uuid']))
        self.assertEqual(['a', 'b', 'c'], list(state.ran))

    def test_the_check_is_a_periodic_task_unless_turned_off(self):
        self.config.config(lost_build_timeout=0, group='conductor')
        self.assertEqual(1, len(self.manager.periodic_tasks()))
        self.config.config(abandoned_run_check_interval=0, group='flow')
        self.assertEqual([], self.manager.periodic_tasks())
