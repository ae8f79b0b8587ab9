"""A nova-compute killed inside any stage ends consistent after a restart.

Each scenario runs a real nova-compute process (RabbitMQ, MariaDB, the
fake hypervisor keeping its guests on disk like real domains) with the
fault-injection hook enabled, stops it inside one stage - after the
stage's work, before its finish is recorded, which is the hardest case -
kills it with SIGKILL, and starts a new nova-compute on the same host:

* build (policy ``revert``), killed before its point of no return
  (``update_active`` committed): every started stage is reverted; nothing
  is left on the host (no guest, claim or IP address), the instance has a
  fault, and with no other host to reschedule to it ends in ERROR;
* build killed after it: the build is done - the run is resumed after its
  last completed stage and the server stays ACTIVE, with no fault (it
  was destroyed and rebuilt elsewhere before);
* terminate (policy ``resume``): the delete finishes; nothing is left;
* the delete of an instance with no host (conductor.local_delete_instance,
  policy ``resume``), nova-conductor killed in a stage: the restarted
  conductor finishes it; its port, volume and quota usage are free.

The default run takes a share of the stages (``sampling.spread``);
test_crash_matrix takes every stage, before and after.
"""

import os

import testscenarios
from nova_fault_injection_hooks import stage_ids

from nova import exception, test
from nova.compute import vm_states
from nova.compute.flows import build_instance
from nova.flow import FlowEngine
from nova.image import api as image_api
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional import multiprocess, sampling
from nova.volume import api as volume_api

load_tests = testscenarios.load_tests_apply_scenarios

BUILD = 'compute.build_instance'
TERMINATE = 'compute.terminate_instance'
LOCAL_DELETE = 'conductor.local_delete_instance'


def _committed(stage_id):
    """At or after its flow's point of no return (and recorded with it:
    a crash inside the point of no return itself rolls it back)."""
    engine = FlowEngine.load(flows=[build_instance.FLOW])
    leaf = engine.plan(BUILD).leaves.get(stage_id)
    return leaf is not None and leaf.committed and not leaf.commits


def _scenarios(flow, before=None, committed=False):
    found = [(f'{sid.removeprefix(flow + ".")}:crash-after',
              {'stage_id': sid, 'kind': 'crash-after'})
             for sid in stage_ids(flow) if _committed(sid) == committed]
    if before:
        # Killed inside the hypervisor call itself, before it returned.
        found.append((f'{before}:crash-before', {
            'stage_id': f'{flow}.{before}', 'kind': 'crash-before'}))
    return found


class _CrashTest(test.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(multiprocess.ProcessCloud(self))

    def start_compute(self, crash=True):
        env = {}
        if crash:
            env['NOVA_FAULT_AT'] = f'{self.stage_id}:{self.kind}'
        return self.cloud.start('nova-compute', 'compute1',
                                hooks=('fault_injection',), **env)

    def crash_and_restart(self, compute):
        self.cloud.wait_for_marker(self.stage_id)
        compute.kill()
        # The same host comes back without the fault: init_host recovers
        # before it takes new requests.
        self.start_compute(crash=False)

    def assert_nothing_left(self, uuid):
        cloud = self.cloud
        self.assertEqual([], cloud.hypervisor_guests('compute1'))
        self.assertIsNone(cloud.db.allocation_get_by_instance(cloud.ctx,
                                                              uuid))
        node = cloud.db.compute_node_get_all_by_host(cloud.ctx,
                                                     'compute1')[0]
        self.assertEqual((0, 0, 0), (node['memory_mb_used'],
                                     node['vcpus_used'],
                                     node['local_gb_used']))
        self.assertEqual([], cloud.db.fixed_ip_get_by_instance(cloud.ctx,
                                                               uuid))


class TestBuildCrash(_CrashTest):

    scenarios = sampling.spread(_scenarios(BUILD, 'spawn.driver_spawn'), 4)

    def test_restart_reverts_the_interrupted_build(self):
        compute = self.start_compute()
        uuid = self.cloud.boot()['uuid']
        self.crash_and_restart(compute)

        errored = self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertIsNone(errored['host'])
        self.assert_nothing_left(uuid)
        faults = self.cloud.db.instance_fault_get_by_instance_uuids(
            self.cloud.ctx, [uuid])[uuid]
        self.assertIn('Interrupted', [f['message'] for f in faults])

        (run,) = self.cloud.wait_for_runs(uuid, 1, prefix='compute.')
        self.assertEqual('reverted', run['status'])
        # The recovery is in the record.
        action = self.cloud.wait_for_action(uuid, 'create')
        # (The conductor's stages, which placed the build, are events of
        # the action too: not this host's to revert.)
        events = {e['event']: e for e in self.cloud.db.action_events_get(
            self.cloud.ctx, action['id'])
            if e['event'].startswith(BUILD)}
        if self.reverts(self.stage_id):
            # Recorded as started before it ran (or, with a held start,
            # reached by the run as far as the record can tell), never
            # finished, and reverted by the restarted service.
            self.assertIn(self.stage_id, events)
            self.assertIsNone(events[self.stage_id]['finish_time'])
            self.assertEqual('reverted',
                             events[self.stage_id]['revert_result'])
        else:
            # [flow] record_stage_starts = reverting: the start of a stage
            # without a revert waits for the run's next write, which the
            # crash cut off; there was nothing of it to undo.
            self.assertNotIn(self.stage_id, events)
        # What recovery did is an event of its own.
        self.assertIn('reverted on restart',
                      events.pop(BUILD + ':recovery')['details'])
        # Every stage with a revert that the record shows started was
        # reverted.
        for stage_id, event in events.items():
            if self.reverts(stage_id):
                self.assertEqual('reverted', event['revert_result'],
                                 stage_id)

    @staticmethod
    def reverts(stage_id):
        engine = FlowEngine.load(flows=[build_instance.FLOW])
        return engine.plan(BUILD).leaves[stage_id].revert is not None


class TestBuildCrashAfterPointOfNoReturn(_CrashTest):
    """Killed after ACTIVE was committed: the build is finished, never
    reverted (regression: it was destroyed and rebuilt on another host,
    the action saying Error while the server was ACTIVE)."""

    scenarios = sampling.spread(_scenarios(BUILD, committed=True), 2)

    def test_restart_finishes_the_build(self):
        compute = self.start_compute()
        uuid = self.cloud.boot()['uuid']
        self.crash_and_restart(compute)

        (run,) = self.cloud.wait_for_runs(uuid, 1, prefix='compute.')
        self.assertEqual('success', run['status'])
        self.assertIn('resumed on restart after stage '
                      'compute.build_instance.spawn.update_active',
                      run['message'])
        server = self.cloud.instance(uuid)
        self.assertEqual((vm_states.ACTIVE, None, 'compute1'),
                         (server['vm_state'], server['task_state'],
                          server['host']))
        self.assertEqual([uuid], self.cloud.hypervisor_guests('compute1'))
        self.assertEqual({uuid: []},
                         self.cloud.db.instance_fault_get_by_instance_uuids(
                             self.cloud.ctx, [uuid]))
        action = self.cloud.wait_for_action(uuid, 'create')
        self.assertIsNone(action['message'])
        events = {e['event']: e for e in self.cloud.db.action_events_get(
            self.cloud.ctx, action['id'])}
        self.assertIn('resumed on restart',
                      events[BUILD + ':recovery']['details'])
        self.assertEqual('Success', events[self.stage_id]['result'])
        self.assertFalse([e for e in events.values()
                          if e['revert_result']])


class TestTerminateCrash(_CrashTest):

    scenarios = sampling.spread(_scenarios(TERMINATE, 'driver_destroy'), 3)

    def test_restart_finishes_the_interrupted_delete(self):
        compute = self.start_compute()
        uuid = self.cloud.boot()['uuid']
        active = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.cloud.compute_api.delete(self.cloud.ctx, active)
        self.crash_and_restart(compute)

        self.cloud.wait_for_deleted(uuid)
        deleted = self.cloud.instance(uuid, read_deleted='yes')
        self.assertEqual(vm_states.DELETED, deleted['vm_state'])
        self.assert_nothing_left(uuid)
        runs = self.cloud.wait_for_runs(uuid, 2, prefix='compute.')
        self.assertEqual(
            [('compute.build_instance', 'success'),
             ('compute.terminate_instance', 'success')],
            sorted((r['flow'], r['status']) for r in runs))


def local_delete_scenarios(kinds=('crash-after',), sample=False):
    """(stage, kind) of conductor.local_delete_instance; the sample: the
    record deleted."""
    return [(f'{sid}:{kind}', {'stage_id': sid, 'kind': kind})
            for sid in stage_ids(LOCAL_DELETE)
            if not sample or sid.endswith('.destroy_instance')
            for kind in kinds]


class TestLocalDeleteCrash(test.TestCase):
    """nova-conductor killed in a stage of its delete of a
    shelved-offloaded server (no host; still its port, its fixed IP, its
    shelve snapshot, an attached volume and its quota usage), then
    started again: it resumes the cut run and the delete finishes."""

    scenarios = local_delete_scenarios(sample=True)

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(multiprocess.ProcessCloud(
            self, conductor_in_process=False))
        self.conductor = self.start_conductor()
        self.cloud.start('nova-compute', 'compute1')

    def start_conductor(self, crash=False):
        env = {}
        if crash:
            env['NOVA_FAULT_AT'] = f'{self.stage_id}:{self.kind}'
        return self.cloud.start('nova-conductor', 'conductor1',
                                hooks=('fault_injection',), **env)

    def offloaded_with_a_volume(self):
        """A SHELVED_OFFLOADED server with a volume attached: it, the
        volume's ID."""
        cloud, ctx = self.cloud, self.cloud.user_context()
        uuid = cloud.boot(ctx)['uuid']
        active = cloud.wait_for_state(uuid, vm_states.ACTIVE)
        volumes = volume_api.API()
        volume = volumes.create(ctx, 1, 'data')
        cloud.compute_api.attach_volume(ctx, active, volume['id'])
        func_fixtures.wait_for(
            lambda: volumes.get(ctx, volume['id'])['status'] == 'in-use',
            what='the volume to be in-use')
        cloud.compute_api.shelve(ctx, cloud.instance(uuid))
        offloaded = cloud.wait_for_state(uuid, vm_states.SHELVED_OFFLOADED)
        self.assertIsNone(offloaded['host'])
        self.assertTrue(cloud.db.fixed_ip_get_by_instance(cloud.ctx, uuid))
        image_api.API().get(
            cloud.ctx, offloaded['system_metadata']['shelved_image_id'])
        self.assertEqual(1, cloud.db.instance_usage_by_project(
            cloud.ctx, ctx.project_id)['instances'])
        return offloaded, volume['id']

    def test_restarted_conductor_finishes_the_delete(self):
        cloud, ctx = self.cloud, self.cloud.user_context()
        instance, volume_id = self.offloaded_with_a_volume()
        uuid = instance['uuid']
        self.conductor.stop()
        self.conductor = self.start_conductor(crash=True)
        cloud.compute_api.delete(ctx, instance)
        cloud.wait_for_marker(self.stage_id)
        self.conductor.kill()
        self.conductor = self.start_conductor()

        cloud.wait_for_deleted(uuid)
        deleted = cloud.instance(uuid, read_deleted='yes')
        self.assertEqual((vm_states.DELETED, None),
                         (deleted['vm_state'], deleted['task_state']))
        self.assertTrue(deleted['deleted'])
        self.assertEqual([], cloud.db.fixed_ip_get_by_instance(cloud.ctx,
                                                               uuid))
        self.assertEqual([], cloud.db.block_device_mapping_get_all_by_instance(
            cloud.ctx, uuid))
        volume = volume_api.API().get(ctx, volume_id)
        self.assertEqual(('available', None),
                         (volume['status'], volume['instance_uuid']))
        self.assertIsNone(cloud.db.allocation_get_by_instance(cloud.ctx,
                                                              uuid))
        self.assertEqual(0, cloud.db.instance_usage_by_project(
            cloud.ctx, ctx.project_id)['instances'])
        self.assertRaises(exception.ImageNotFound, image_api.API().get,
                          cloud.ctx,
                          instance['system_metadata']['shelved_image_id'])
        delete = cloud.wait_for_action(uuid, 'delete')
        self.assertIsNone(delete['message'])
        runs = func_fixtures.wait_for(
            lambda: (lambda rs: rs if rs and 'running' not in
                     [r['status'] for r in rs] else None)(
                cloud.db.flow_runs_get_by_instance(cloud.ctx, uuid)),
            what='every run to end')
        self.assertEqual(['success'], [r['status'] for r in runs
                                       if r['flow'] == LOCAL_DELETE])


class TestDeleteDuringBuildCrash(_CrashTest):
    """A delete requested while the build holds the instance, then a
    crash: the delete wins (regression: recovery rescheduled the build,
    overwriting task_state deleting, and the delete never finished)."""

    scenarios = [('spawn.driver_spawn:crash-before', {
        'stage_id': f'{BUILD}.spawn.driver_spawn', 'kind': 'crash-before'})]

    def test_restart_ends_in_the_delete(self):
        compute = self.start_compute()
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_marker(self.stage_id)
        self.cloud.compute_api.delete(self.cloud.ctx,
                                      self.cloud.instance(uuid))
        compute.kill()
        self.start_compute(crash=False)

        self.cloud.wait_for_deleted(uuid)
        self.assert_nothing_left(uuid)
        delete = self.cloud.wait_for_action(uuid, 'delete')
        self.assertIsNotNone(delete['finish_time'])
        runs = self.cloud.wait_for_runs(uuid, 2, prefix='compute.')
        self.assertEqual(
            [('compute.build_instance', 'reverted'),
             ('compute.terminate_instance', 'success')],
            sorted((r['flow'], r['status']) for r in runs))


class TestRecoveryInTheBackground(_CrashTest):
    """Several builds cut at once (the case of a host killed during a
    burst of boots): the restarted nova-compute recovers them
    ``[compute] max_concurrent_recoveries`` at a time, and serves
    requests for other instances while it does; a kill during that
    recovery is recovered again at the next start."""

    stage_id = f'{BUILD}.spawn.driver_spawn'
    kind = 'crash-before'

    def cut_builds(self, count):
        """``count`` builds cut inside the hypervisor's spawn."""
        compute = self.start_compute()
        uuids = [self.cloud.boot(name=f'cut-{i}')['uuid']
                 for i in range(count)]

        def all_in_spawn():
            # driver_spawn has a revert: its start is recorded before
            # it runs, so once every build shows it, every one is held
            # by the fault hook inside it.
            for uuid in uuids:
                actions = self.cloud.db.actions_get(self.cloud.ctx, uuid)
                events = [e['event'] for a in actions
                          for e in self.cloud.db.action_events_get(
                              self.cloud.ctx, a['id'])]
                if self.stage_id not in events:
                    return False
            return True
        func_fixtures.wait_for(all_in_spawn, 60,
                                            'every build to be in spawn')
        compute.kill()
        return uuids

    def blocked_destroys(self):
        """The instances whose guest the restarted service is destroying
        (the fake hypervisor's marker files of a blocked call)."""
        path = f'{self.cloud.dir}/hypervisor-compute1'
        return sorted(name.removeprefix('blocked-destroy-')
                      for name in os.listdir(path)
                      if name.startswith('blocked-destroy-'))

    def test_recovers_concurrently_and_serves_other_instances(self):
        uuids = self.cut_builds(3)
        # Back with every destroy held forever and room for two
        # recoveries at a time: reverting the spawns of two builds
        # starts, the third waits for a free worker.
        recovering = self.cloud.start(
            'nova-compute', 'compute1', hooks=('fault_injection',),
            options={'fake_driver': {'block_methods': 'destroy'},
                     'compute': {'max_concurrent_recoveries': '2'}},
            wait_for_recovery=False)
        blocked = func_fixtures.wait_for(
            lambda: len(self.blocked_destroys()) == 2 and
            self.blocked_destroys(), 60, 'two recoveries to run at once')
        self.assertLessEqual(set(blocked), set(uuids))

        # Meanwhile a new server is built by the same service.
        other = self.cloud.boot(name='during-recovery')['uuid']
        self.cloud.wait_for_state(other, vm_states.ACTIVE, timeout=60)
        # Still two, still blocked: the bound held, the third waits.
        self.assertEqual(blocked, self.blocked_destroys())
        self.assertNotIn('Crash recovery ended', recovering.own_log())

        # Killed during its recovery: the next start finishes it.
        recovering.kill()
        self.start_compute(crash=False)
        for uuid in uuids:
            self.cloud.wait_for_state(uuid, vm_states.ERROR)
            (run,) = self.cloud.wait_for_runs(uuid, 1, prefix='compute.')
            self.assertEqual('reverted', run['status'])
            self.assertIsNone(self.cloud.db.allocation_get_by_instance(
                self.cloud.ctx, uuid))
        self.assertEqual([other], self.cloud.hypervisor_guests('compute1'))
        self.assertEqual(vm_states.ACTIVE,
                         self.cloud.instance(other)['vm_state'])
