"""conductor.local_delete_instance on the local network, volume and image
services and a real database: what a delete of an instance with no host
frees, that every stage can run again after a crash, and failures.
"""

from __future__ import annotations

import inspect
from typing import Any
from unittest import mock

import fixtures
import testscenarios
from oslo_config import fixture as config_fixture

import nova.conf
from nova import context, exception, rpc, service, test
from nova.compute import task_states, vm_states
from nova.conductor import manager as conductor_manager
from nova.conductor.flows import local_delete_instance
from nova.db import api as db
from nova.db import recorder as db_recorder
from nova.flow import RESUME, FlowEngine, hooks
from nova.image import api as image_api
from nova.network import api as network_api
from nova.tests.fixtures import rpc as rpc_fixture
from nova.tests.unit.db import base
from nova.volume import api as volume_api

load_tests = testscenarios.load_tests_apply_scenarios
CONF = nova.conf.CONF
HOST = 'conductor1'
FLOW = local_delete_instance.FLOW
NAME = 'conductor.local_delete_instance'
STAGES = ['notify_usage_start', 'deallocate_network', 'delete_shelve_image',
          'detach_volumes', 'release_claims', 'destroy_instance',
          'notify_usage_end']


class Crash(BaseException):
    """The conductor process dying (SIGKILL leaves the run unfinished the
    same way: the engine only handles Exception)."""


def crash_after(stage: str) -> hooks.Hook:
    """A hook that lets ``stage`` do its work, then kills the process."""
    class CrashAfter(hooks.Hook):
        supports = {NAME: '1.0'}

        @hooks.around(f'{NAME}.{stage}')
        def crash(self, ctx: Any, state: Any, proceed: Any) -> None:
            proceed()
            raise Crash(stage)
    return CrashAfter()


def fail_in(stage: str) -> hooks.Hook:
    class FailIn(hooks.Hook):
        supports = {NAME: '1.0'}

        @hooks.around(f'{NAME}.{stage}')
        def fail(self, ctx: Any, state: Any, proceed: Any) -> None:
            raise RuntimeError(f'{stage} failed')
    return FailIn()


class TestContract(test.TestCase):

    def test_flow_contract(self):
        self.assertEqual((NAME, '1.0', RESUME),
                         (FLOW.name, FLOW.version, FLOW.on_interrupt))
        self.assertIsNotNone(FLOW.load_state)
        plan = FlowEngine.load(flows=[FLOW]).plan(NAME)
        self.assertEqual([f'{NAME}.{s}' for s in STAGES], list(plan.leaves))
        self.assertEqual(
            {f'{NAME}.notify_usage_start', f'{NAME}.notify_usage_end'},
            {i for i, leaf in plan.leaves.items() if leaf.optional})
        # A delete cannot be undone: nothing reverts.
        self.assertEqual(set(), {i for i, leaf in plan.leaves.items()
                                 if leaf.revert is not None})

    def test_module_and_stages_state_their_semantics(self):
        doc = inspect.getdoc(local_delete_instance) or ''
        self.assertTrue(doc.startswith(NAME + ':'))
        self.assertIn('Failure:', doc)
        self.assertIn('Interrupted (nova-conductor died mid-delete): '
                      'resumed at restart', doc)
        self.assertIn('_local_delete', doc)  # why the name
        tree, problems = FLOW.resolve()
        self.assertEqual([], problems)
        for entry in tree:
            self.assertTrue(entry.doc, entry.name)
            self.assertIn('Idempotent',
                          inspect.getdoc(entry.execute) or '', entry.name)


class _DeleteTestCase(base.DBTestCase):
    """An instance as a SHELVED_OFFLOADED server holds it: a port, its
    shelve snapshot, two attached volumes (one delete_on_termination),
    block device mappings, a leftover allocation on a node, and the
    delete action of the request."""

    scenarios: list = []

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(rpc_fixture.RPCFixture())
        self.config = self.useFixture(config_fixture.Config(CONF))
        self.config.config(
            state_path=self.useFixture(fixtures.TempDir()).path)
        self.network = network_api.API()
        self.volumes = volume_api.API()
        self.images = image_api.API()
        self.compute_rpcapi = mock.Mock()

        self.snapshot = self.images.create(self.ctx, {'name': 'vm-shelved'})
        instance = db.instance_create(self.ctx, {
            'display_name': 'vm', 'vm_state': vm_states.SHELVED_OFFLOADED,
            'task_state': task_states.DELETING, 'vcpus': 1,
            'memory_mb': 512, 'root_gb': 1,
            'system_metadata': {'shelved_image_id': self.snapshot['id'],
                                'shelved_host': 'compute1'}})
        self.uuid = instance['uuid']
        (vif,) = self.network.allocate_for_instance(self.ctx, self.uuid)
        self.address = vif['network']['subnets'][0]['ips'][0]['address']
        db.block_device_mapping_create(self.ctx, {
            'instance_uuid': self.uuid, 'source_type': 'image',
            'destination_type': 'local', 'boot_index': 0,
            'image_id': 'base-image', 'delete_on_termination': True})
        self.kept = self.attach_volume('/dev/vdb', delete=False)
        self.doomed = self.attach_volume('/dev/vdc', delete=True)
        node = db.compute_node_report(self.admin, 'compute1', 'node1', {
            'vcpus': 4, 'memory_mb': 4096, 'local_gb': 40,
            'cpu_allocation_ratio': 1.0, 'ram_allocation_ratio': 1.0,
            'disk_allocation_ratio': 1.0})
        self.node_id = node['id']
        db.allocation_claim(self.admin, self.node_id, self.uuid, vcpus=1,
                            memory_mb=512, disk_gb=1)
        self.action = db.action_start(self.ctx, self.uuid, 'delete')

    def attach_volume(self, device: str, delete: bool) -> str:
        volume = self.volumes.create(self.ctx, 1)
        self.volumes.reserve(self.ctx, volume['id'], self.uuid)
        self.volumes.attach(self.ctx, volume['id'], self.uuid, device)
        db.block_device_mapping_create(self.ctx, {
            'instance_uuid': self.uuid, 'source_type': 'volume',
            'destination_type': 'volume', 'volume_id': volume['id'],
            'device_name': device, 'boot_index': None,
            'delete_on_termination': delete})
        return volume['id']

    def manager(self, *hook_objects: Any,
                ) -> conductor_manager.ConductorManager:
        """A conductor process: its own recorder and engine."""
        recorder = db_recorder.DBRecorder(HOST)
        manager = conductor_manager.ConductorManager(
            HOST, db, recorder, network=self.network, volume=self.volumes,
            image=self.images, notifier=rpc.get_notifier('conductor', HOST),
            engine=FlowEngine.load(flows=[FLOW], hook_objects=hook_objects,
                                   recorder=recorder, host=HOST))
        manager.compute_rpcapi = self.compute_rpcapi
        return manager

    def delete(self, manager: Any, ctx: Any = None) -> None:
        """What the API's cast does (with the instance it read)."""
        manager.local_delete_instance(
            ctx or self.ctx, db.instance_get_by_uuid(self.admin, self.uuid))

    def volume_status(self, volume_id: str) -> str | None:
        try:
            return self.volumes.get(self.admin, volume_id)['status']
        except exception.VolumeNotFound:
            return None

    def runs(self) -> list[dict[str, Any]]:
        return db.flow_runs_get_by_instance(self.admin, self.uuid)

    def assert_everything_freed(self) -> None:
        self.assertEqual([], self.network.get_instance_nw_info(self.admin,
                                                               self.uuid))
        self.assertEqual([], db.fixed_ip_get_by_instance(self.admin,
                                                         self.uuid))
        self.assertRaises(exception.ImageNotFound, self.images.get,
                          self.admin, self.snapshot['id'])
        self.assertEqual('available', self.volume_status(self.kept))
        self.assertIsNone(self.volume_status(self.doomed))
        self.assertEqual([], db.block_device_mapping_get_all_by_instance(
            self.admin, self.uuid))
        self.assertIsNone(db.allocation_get_by_instance(self.admin,
                                                        self.uuid))
        node = db.compute_node_get(self.admin, self.node_id)
        self.assertEqual((0, 0, 0, 0), (
            node['vcpus_used'], node['memory_mb_used'],
            node['local_gb_used'], node['running_vms']))
        self.assertRaises(exception.InstanceNotFound,
                          db.instance_get_by_uuid, self.admin, self.uuid)
        deleted = db.instance_get_by_uuid(
            context.RequestContext(is_admin=True, read_deleted='yes'),
            self.uuid)
        self.assertEqual((vm_states.DELETED, None),
                         (deleted['vm_state'], deleted['task_state']))

    def assert_action_finished(self, message: str | None = None) -> None:
        action = db.action_get_by_request_id(self.admin, self.uuid,
                                             self.ctx.request_id)
        assert action is not None
        self.assertIsNotNone(action['finish_time'])
        self.assertEqual(message, action['message'])


class TestLocalDelete(_DeleteTestCase):

    def test_delete_frees_everything_and_finishes_the_action(self):
        self.delete(self.manager())
        self.assert_everything_freed()
        self.assert_action_finished()
        (run,) = self.runs()
        self.assertEqual(('success', self.action['id'], HOST),
                         (run['status'], run['action_id'], run['host']))
        events = db.action_events_get(self.admin, self.action['id'])
        self.assertEqual([f'{NAME}.{s}' for s in STAGES],
                         [e['event'] for e in sorted(
                             events, key=lambda e: e['seq'])])
        self.assertEqual({'Success'}, {e['result'] for e in events})
        self.compute_rpcapi.terminate_instance.assert_not_called()

    def test_a_second_run_finds_nothing_left_and_succeeds(self):
        self.delete(self.manager())
        manager = self.manager()
        state = local_delete_instance._load_state(
            context.get_admin_context(), mock.Mock(subject=self.uuid),
            manager.services)
        manager.flows.run(NAME, self.ctx, state)
        self.assert_everything_freed()

    def test_failure_errors_and_a_second_delete_completes(self):
        self.delete(self.manager(fail_in('detach_volumes')))
        instance = db.instance_get_by_uuid(self.admin, self.uuid)
        self.assertEqual((vm_states.ERROR, None, None),
                         (instance['vm_state'], instance['task_state'],
                          instance['host']))
        fault = db.instance_fault_get_by_instance_uuids(
            self.admin, [self.uuid])[self.uuid][0]
        self.assertEqual('RuntimeError', fault['message'])
        self.assert_action_finished('Error')
        # Freed before the failure; the rest is still held.
        self.assertEqual([], db.fixed_ip_get_by_instance(self.admin,
                                                         self.uuid))
        self.assertEqual('in-use', self.volume_status(self.kept))

        again = context.RequestContext('fake-user', 'fake-project')
        db.action_start(again, self.uuid, 'delete')
        self.delete(self.manager(), again)
        self.assert_everything_freed()
        self.assertEqual(['error', 'success'],
                         sorted(r['status'] for r in self.runs()))

    def test_image_already_gone_is_fine(self):
        self.images.delete(self.admin, self.snapshot['id'])
        self.delete(self.manager())
        self.assert_everything_freed()
        self.assert_action_finished()

    def test_instance_that_got_a_host_is_deleted_by_that_host(self):
        db.instance_update(self.admin, self.uuid, {'host': 'compute1'})
        self.delete(self.manager())
        self.compute_rpcapi.terminate_instance.assert_called_once()
        self.assertEqual('compute1', self.compute_rpcapi.terminate_instance
                         .call_args.args[1]['host'])
        self.assertEqual([], self.runs())

    def test_instance_already_gone_only_finishes_the_action(self):
        instance = db.instance_get_by_uuid(self.admin, self.uuid)
        db.instance_destroy(self.admin, self.uuid)
        self.manager().local_delete_instance(self.ctx, instance)
        self.assertEqual([], self.runs())
        self.assert_action_finished()


class TestEachStageRunsAgain(_DeleteTestCase):
    """The conductor dies right after a stage did its work, before its
    finish is recorded; the restarted conductor runs that stage again
    (and the rest), and the delete completes."""

    scenarios = [(stage, {'stage': stage}) for stage in STAGES]
    stage: str

    def test_resumed_after_a_crash_in_the_stage(self):
        # Every start written before its stage runs, so the record shows
        # exactly which stage was cut.
        self.config.config(record_stage_starts='all', group='flow')
        self.assertRaises(Crash, self.delete,
                          self.manager(crash_after(self.stage)))
        (run,) = self.runs()
        self.assertEqual('running', run['status'])

        self.assertEqual(1, self.manager().recover_interrupted_runs(
            self.admin))
        self.assert_everything_freed()
        self.assert_action_finished()
        (run,) = self.runs()
        self.assertEqual('success', run['status'])
        stage_id = f'{NAME}.{self.stage}'
        attempts = [e for e in db.action_events_get(
            self.admin, self.action['id']) if e['event'] == stage_id]
        self.assertEqual(2, len(attempts), stage_id)
        self.assertEqual(['Success'], [e['result'] for e in attempts
                                       if e['result']])


class TestRecoveryAtConductorStart(_DeleteTestCase):
    """A delete cut by the conductor's death is finished by the next
    nova-conductor on the host when it starts, before it takes
    requests."""

    def test_unfinished_run_is_resumed_and_the_instance_ends_deleted(self):
        self.assertRaises(Crash, self.delete,
                          self.manager(crash_after('delete_shelve_image')))
        (run,) = db_recorder.DBRecorder().unfinished_runs(self.admin, HOST)
        self.assertEqual((NAME, self.uuid), (run.flow, run.subject))
        # Cut before it finished: nothing after the snapshot is freed.
        self.assertEqual('in-use', self.volume_status(self.kept))
        self.assertIsNotNone(db.instance_get_by_uuid(self.admin, self.uuid))

        conductor = service.Service(HOST, 'nova-conductor', None,
                                    self.manager(), db)
        conductor.start()
        self.addCleanup(conductor.stop)

        self.assert_everything_freed()
        self.assert_action_finished()
        recorded = db_recorder.DBRecorder().get_run(self.admin, run.run_id)
        self.assertEqual(('success', True),
                         (recorded.status, recorded.recovering))
        self.assertEqual([], db_recorder.DBRecorder().unfinished_runs(
            self.admin, HOST))
