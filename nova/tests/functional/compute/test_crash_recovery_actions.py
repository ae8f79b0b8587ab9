"""A nova-compute killed inside a stage of a single-host action ends
consistent after a restart - the action flows' interrupted-run policies.

Same harness as test_crash_recovery (a real nova-compute process over
RabbitMQ and MariaDB, the fake hypervisor keeping its guests on disk, the
fault-injection hook stopping the process inside a stage - after the
stage's work, before its finish is recorded, unless ``crash-before`` - and
SIGKILL), one scenario per flow at the stage that changes the most, plus
a few where the policy matters most:

* ``resume`` flows finish the request: the server ends in the state the
  user asked for (a final update cut after it was written is accepted
  when run again);
* ``revert`` flows undo it: the server is as before with an
  "Interrupted" fault (rebuild: ERROR, as upstream), and nothing is
  leaked (no unfinished image, no port, no block device mapping).
"""

from __future__ import annotations

import threading

import testscenarios
from nova_fault_injection_hooks import stage_ids
from oslo_config import fixture as config_fixture

import nova.conf
from nova import exception, test
from nova.compute import power_state, vm_states
from nova.image import api as image_api
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional import multiprocess
from nova.virt import fake

load_tests = testscenarios.load_tests_apply_scenarios
CONF = nova.conf.CONF


def _scenario(flow: str, stage: str, kind: str = 'crash-after'
              ) -> tuple[str, dict]:
    return (f'{flow}.{stage}:{kind}',
            {'stage_id': f'compute.{flow}.{stage}', 'kind': kind})


class _ActionCrash(test.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(multiprocess.ProcessCloud(self))
        self.ctx = self.cloud.user_context()
        self.api = self.cloud.compute_api
        self.compute = self.start_compute()
        self.uuid = self.cloud.boot(self.ctx)['uuid']
        self.cloud.wait_for_state(self.uuid, vm_states.ACTIVE)

    def start_compute(self, crash=True):
        env = {}
        if crash:
            env['NOVA_FAULT_AT'] = f'{self.stage_id}:{self.kind}'
        return self.cloud.start('nova-compute', 'compute1',
                                hooks=('fault_injection',), **env)

    def act(self, method, *args, **kwargs):
        return getattr(self.api, method)(self.ctx,
                                         self.cloud.instance(self.uuid),
                                         *args, **kwargs)

    def then(self, method, vm_state, *args, **kwargs):
        """A step before the one that crashes."""
        self.act(method, *args, **kwargs)
        return self.cloud.wait_for_state(self.uuid, vm_state)

    def crash_and_restart(self):
        self.cloud.wait_for_marker(self.stage_id)
        self.compute.kill()
        # Recovery runs in init_host, before the service takes requests.
        self.compute = self.start_compute(crash=False)

    def guest(self):
        return fake.read_state(
            f'{self.cloud.dir}/hypervisor-compute1').get(self.uuid)

    def run_recorded(self, flow):
        runs = [r for r in self.cloud.db.flow_runs_get_by_instance(
            self.cloud.ctx, self.uuid) if r['flow'] == flow]
        return runs[0] if runs else None

    def wait_run_ended(self, flow):
        return func_fixtures.wait_for(
            lambda: (lambda r: r if r and r['status'] != 'running'
                     else None)(self.run_recorded(flow)),
            what=f'the run of {flow} to end')

    def ran(self, stage_id):
        """Whether ``stage_id`` had done its work when the process was
        killed (the scenario's stage, or one before it)."""
        flow = self.stage_id.rsplit('.', 1)[0]
        order = stage_ids(flow)
        if stage_id not in order:
            return False
        here, there = order.index(self.stage_id), order.index(stage_id)
        return there < here or (there == here and self.kind == 'crash-after')

    def interrupted_fault(self):
        return 'Interrupted' in [f['message'] for f in
                                 self.cloud.db.instance_fault_get_by_instance_uuids(
                                     self.cloud.ctx, [self.uuid])[self.uuid]]


class TestResumedActions(_ActionCrash):
    """Interrupted runs of ``resume`` flows finish the request."""

    scenarios = [
        _scenario('pause_instance', 'driver_pause'),
        _scenario('pause_instance', 'update_paused'),
        _scenario('unpause_instance', 'driver_unpause'),
        _scenario('suspend_instance', 'driver_suspend'),
        _scenario('resume_instance', 'driver_resume'),
        _scenario('unrescue_instance', 'driver_unrescue'),
        # Regressions: a resumed run repeated the state update before the
        # cut stage and ended in ERROR (UnexpectedTaskStateError).
        _scenario('reboot_instance', 'notify_usage_end'),
        _scenario('reboot_instance', 'driver_reboot'),
        _scenario('stop_instance', 'notify_usage_end'),
        # Cut inside the update's transaction: rolled back, then redone.
        _scenario('reboot_instance', 'update_reboot_started'),
        _scenario('stop_instance', 'update_stopped'),
    ]

    STEPS = {
        'compute.pause_instance': ([], 'pause', vm_states.PAUSED,
                                   power_state.PAUSED),
        'compute.unpause_instance': ([('pause', vm_states.PAUSED)],
                                     'unpause', vm_states.ACTIVE,
                                     power_state.RUNNING),
        'compute.suspend_instance': ([], 'suspend', vm_states.SUSPENDED,
                                     power_state.SUSPENDED),
        'compute.resume_instance': ([('suspend', vm_states.SUSPENDED)],
                                    'resume', vm_states.ACTIVE,
                                    power_state.RUNNING),
        'compute.unrescue_instance': ([('rescue', vm_states.RESCUED)],
                                      'unrescue', vm_states.ACTIVE,
                                      power_state.RUNNING),
        'compute.reboot_instance': ([], ('reboot', 'SOFT'), vm_states.ACTIVE,
                                    power_state.RUNNING),
        'compute.stop_instance': ([], 'stop', vm_states.STOPPED,
                                  power_state.SHUTDOWN),
        'compute.start_instance': ([('stop', vm_states.STOPPED)], 'start',
                                   vm_states.ACTIVE, power_state.RUNNING),
    }

    def test_restart_finishes_the_action(self):
        flow = self.stage_id.rsplit('.', 1)[0]
        prepare, action, vm_state, power = self.STEPS[flow]
        for method, state in prepare:
            self.then(method, state)
        method, *args = (action,) if isinstance(action, str) else action
        self.act(method, *args)
        self.crash_and_restart()
        self.assertEqual('success', self.wait_run_ended(flow)['status'])
        server = self.cloud.instance(self.uuid)
        self.assertEqual((vm_state, None),
                         (server['vm_state'], server['task_state']))
        self.assertFalse(self.interrupted_fault())
        self.assertEqual(power, server['power_state'])
        self.assertEqual(power, self.guest()['power_state'])
        self.assertFalse(self.guest()['rescued'])
        self.assertEqual('success', self.wait_run_ended(flow)['status'])


class TestResumedShelving(_ActionCrash):

    scenarios = [
        _scenario('shelve_instance', 'driver_snapshot'),
        _scenario('shelve_instance', 'driver_snapshot', 'crash-before'),
        _scenario('shelve_offload_instance', 'driver_destroy'),
        _scenario('unshelve_instance', 'driver_spawn'),
        _scenario('unshelve_instance', 'delete_shelved_image'),
    ]

    def test_restart_finishes_the_action(self):
        flow = self.stage_id.rsplit('.', 1)[0]
        if flow == 'compute.unshelve_instance':
            shelved = self.then('shelve', vm_states.SHELVED_OFFLOADED)
            image_id = shelved['system_metadata']['shelved_image_id']
            self.act('unshelve')
            self.crash_and_restart()
            server = self.cloud.wait_for_state(self.uuid, vm_states.ACTIVE)
            self.assertEqual('compute1', server['host'])
            self.assertEqual([self.uuid],
                             self.cloud.hypervisor_guests('compute1'))
            self.assertEqual(power_state.RUNNING,
                             self.guest()['power_state'])
            self.assertEqual('success',
                             self.wait_run_ended(flow)['status'])
            self.assertRaises(exception.ImageNotFound,
                              image_api.API().get, self.cloud.ctx,
                              image_id)
            return
        self.act('shelve')
        self.crash_and_restart()
        server = self.cloud.wait_for_state(self.uuid,
                                           vm_states.SHELVED_OFFLOADED)
        self.assertIsNone(server['host'])
        self.assertEqual([], self.cloud.hypervisor_guests('compute1'))
        self.assertIsNone(self.cloud.db.allocation_get_by_instance(
            self.cloud.ctx, self.uuid))
        image = image_api.API().get(
            self.cloud.ctx, server['system_metadata']['shelved_image_id'])
        self.assertEqual(image_api.ACTIVE, image['status'])
        # And the server comes back from what the crashed run saved.
        self.act('unshelve')
        self.cloud.wait_for_state(self.uuid, vm_states.ACTIVE)


class TestResumedVolumeAndInterface(_ActionCrash):

    scenarios = [
        _scenario('attach_volume', 'driver_attach_volume'),
        _scenario('detach_volume', 'volume_detach'),
        _scenario('detach_interface', 'driver_detach_interface'),
    ]

    def test_restart_finishes_the_action(self):
        from nova.volume import api as volume_api
        volumes = volume_api.API()
        flow = self.stage_id.rsplit('.', 1)[0]
        if flow == 'compute.detach_interface':
            vif = self.act('attach_interface')
            self.act('detach_interface', vif['id'])
            self.crash_and_restart()
            self.wait_run_ended(flow)
            self.assertNotIn(vif['id'], [
                v['id'] for v in self.api.get_interfaces(
                    self.ctx, self.cloud.instance(self.uuid))])
            self.assertNotIn(vif['id'], self.guest()['interfaces'])
            return
        volume = volumes.create(self.ctx, 1)
        self.act('attach_volume', volume['id'])
        if flow == 'compute.detach_volume':
            func_fixtures.wait_for(lambda: volumes.get(
                self.ctx, volume['id'])['status'] == 'in-use',
                what='the volume to be in-use')
            self.act('detach_volume', volume['id'])
        self.crash_and_restart()
        self.wait_run_ended(flow)
        attached = flow == 'compute.attach_volume'
        self.assertEqual('in-use' if attached else 'available',
                         volumes.get(self.ctx, volume['id'])['status'])
        bdms = self.api.get_volume_attachments(
            self.ctx, self.cloud.instance(self.uuid))
        self.assertEqual([volume['id']] if attached else [],
                         [b['volume_id'] for b in bdms])
        self.assertEqual([volume['id']] if attached else [],
                         [v['volume_id'] for v in
                          self.guest()['volumes'].values()])


class TestRevertedActions(_ActionCrash):
    """Interrupted runs of ``revert`` flows are undone."""

    scenarios = [
        _scenario('rescue_instance', 'driver_rescue'),
        _scenario('snapshot_instance', 'driver_snapshot', 'crash-before'),
        _scenario('snapshot_instance', 'driver_snapshot'),
        _scenario('rebuild_instance', 'driver_spawn'),
    ]

    def test_restart_reverts_the_action(self):
        flow = self.stage_id.rsplit('.', 1)[0]
        image = None
        if flow == 'compute.rescue_instance':
            self.act('rescue', rescue_password='pw')
        elif flow == 'compute.snapshot_instance':
            image = self.act('snapshot', 'crashed-snap')
        else:
            self.act('rebuild', self.cloud.image['id'], 'pw')
        self.crash_and_restart()
        self.assertEqual('reverted', self.wait_run_ended(flow)['status'])
        self.assertTrue(self.interrupted_fault())
        server = self.cloud.instance(self.uuid)
        self.assertIsNone(server['task_state'])
        if flow == 'compute.rebuild_instance':
            # ERROR, as upstream; once the old guest was destroyed for
            # the spawn, the half-built one is gone too.  Either way no
            # other guest is left behind.
            self.assertEqual(vm_states.ERROR, server['vm_state'])
            # (The fake driver has no rebuild of its own: destroy and
            # spawn.)
            if self.ran('compute.rebuild_instance.driver_destroy'):
                self.assertIsNone(self.guest())
            self.assertLessEqual(
                set(self.cloud.hypervisor_guests('compute1')), {self.uuid})
            return
        self.assertEqual(vm_states.ACTIVE, server['vm_state'])
        self.assertFalse(self.guest()['rescued'])
        self.assertEqual(power_state.RUNNING, self.guest()['power_state'])
        if image is not None:
            if not self.ran('compute.snapshot_instance.driver_snapshot'):
                # Not uploaded: deleted.
                self.assertRaises(exception.ImageNotFound,
                                  image_api.API().get, self.cloud.ctx,
                                  image['id'])
            else:
                # Uploaded before the crash: a good snapshot, kept.
                self.assertEqual(image_api.ACTIVE, image_api.API().get(
                    self.cloud.ctx, image['id'])['status'])


class TestFinishedRebuild(_ActionCrash):
    """A rebuild killed after ``update_rebuilt`` committed is finished,
    not reverted (regression: the ACTIVE server was set to ERROR and its
    guest destroyed)."""

    scenarios = [_scenario('rebuild_instance', 'notify_usage_end')]

    def test_restart_finishes_the_rebuild(self):
        flow = 'compute.rebuild_instance'
        self.act('rebuild', self.cloud.image['id'], 'pw')
        self.crash_and_restart()
        run = self.wait_run_ended(flow)
        self.assertEqual('success', run['status'])
        self.assertIn('resumed on restart', run['message'])
        server = self.cloud.instance(self.uuid)
        self.assertEqual((vm_states.ACTIVE, None),
                         (server['vm_state'], server['task_state']))
        self.assertEqual(power_state.RUNNING, self.guest()['power_state'])
        self.assertFalse(self.interrupted_fault())


class TestRevertedCalls(_ActionCrash):
    """A call's flow cut by a crash: the API's call times out, so the
    user was told it failed; the restart reverts it."""

    scenarios = [
        _scenario('attach_interface', 'driver_attach_interface'),
        _scenario('reserve_block_device_name', 'create_bdm'),
    ]

    def test_restart_reverts_what_the_caller_saw_fail(self):
        config = self.useFixture(config_fixture.Config(CONF))
        config.config(rpc_response_timeout=5)
        from nova.volume import api as volume_api
        volumes = volume_api.API()
        flow = self.stage_id.rsplit('.', 1)[0]
        ports = [v['id'] for v in self.api.get_interfaces(
            self.ctx, self.cloud.instance(self.uuid))]
        volume = volumes.create(self.ctx, 1)
        errors = []

        def call():
            try:
                if flow == 'compute.attach_interface':
                    self.act('attach_interface')
                else:
                    self.act('attach_volume', volume['id'])
            except Exception as error:
                errors.append(error)
        caller = threading.Thread(target=call)
        caller.start()
        self.cloud.wait_for_marker(self.stage_id)
        caller.join(60)
        self.assertEqual(1, len(errors), 'the call did not fail')
        self.crash_and_restart()
        self.assertEqual('reverted', self.wait_run_ended(flow)['status'])
        self.assertEqual(ports, [v['id'] for v in self.api.get_interfaces(
            self.ctx, self.cloud.instance(self.uuid))])
        self.assertEqual(sorted(ports), sorted(self.guest()['interfaces']))
        self.assertEqual([], self.api.get_volume_attachments(
            self.ctx, self.cloud.instance(self.uuid)))
        self.assertEqual('available',
                         volumes.get(self.ctx, volume['id'])['status'])


class TestRevertedCrashDump(_ActionCrash):
    """compute.trigger_crash_dump cut by a crash: the API's call fails,
    the restart closes the run as reverted and sends no second
    interrupt; the server is as it was."""

    scenarios = [
        _scenario('trigger_crash_dump', 'driver_trigger_crash_dump'),
    ]

    def test_restart_reverts_without_a_second_dump(self):
        config = self.useFixture(config_fixture.Config(CONF))
        config.config(rpc_response_timeout=5)
        flow = self.stage_id.rsplit('.', 1)[0]
        errors = []

        def call():
            try:
                self.act('trigger_crash_dump')
            except Exception as error:
                errors.append(error)
        caller = threading.Thread(target=call)
        caller.start()
        self.cloud.wait_for_marker(self.stage_id)
        caller.join(60)
        self.assertEqual(1, len(errors), 'the call did not fail')
        self.crash_and_restart()
        self.assertEqual('reverted', self.wait_run_ended(flow)['status'])
        server = self.cloud.instance(self.uuid)
        self.assertEqual((vm_states.ACTIVE, None, power_state.RUNNING),
                         (server['vm_state'], server['task_state'],
                          server['power_state']))
        dumps = 1 if self.ran('compute.trigger_crash_dump.'
                              'driver_trigger_crash_dump') else 0
        self.assertEqual(dumps, self.guest().get('crash_dumps', 0))
        self.assertEqual(power_state.RUNNING, self.guest()['power_state'])
