"""Moves with every service in its own process over RabbitMQ: resize,
confirm, revert and cold migration across three nova-compute hosts on
MariaDB and on PostgreSQL, and a SIGKILL of the party running each stage
of every flow a resize runs (the conductor, the source or the
destination), then a restart of that party.

After a kill the move is reverted - by the conductor's recovery, by the
killed host's recovery of its own part, and by the revert calls that
waited in a host's queue while it was down - and nothing is left where
it does not belong: the instance ACTIVE on its source with its old
flavor, its guest there only, its claim there only, no migration claim,
the migration in a final status, no unfinished run.

The same for a live migration (the instance ends on its source, or on
its destination when the kill came after its guest left the source) and
an evacuation (the instance ends ERROR on its dead source, or on its
destination when the kill came after the destination took it; the
source, back, destroys its guest then).

And for the confirm and the revert of a resize (a server resized to
VERIFY_RESIZED first): every flow of both resumes at restart, so a kill
of the conductor or of the host running a stage ends with the resize
confirmed (ACTIVE on the destination, new flavor) or reverted (ACTIVE on
the source, old flavor), the migration ``confirmed`` or ``reverted``.
A kill of the destination in its part of a revert (compute.revert_resize)
times the conductor's call to it out; the conductor calls it once more
(a call that waits for it), and the restarted destination answers once
its recovery has finished that part.

And for a live migration held in progress (the source's fake driver
blocks in live_migration): the source killed before or after each stage
of the user's abort or force-complete ends with the instance ACTIVE on
the host its guest was on at the kill, nothing on the other; and the
destination killed in its rollback of a live migration that failed on
its source ends with the instance ACTIVE on its source, nothing on the
destination (the conductor asks for the rollback again, waiting for the
destination to be back).

And for the returning source's cleanup after an evacuation
(compute.destroy_evacuated_instance, run in its start): the source
killed before or after each stage of it and started again ends with the
guest destroyed there, nothing of the instance left on it, the
migration 'completed'.

The scenarios are generated from the flows (a new stage is covered
without editing this file).  The default run takes a share of a
sample (the last stage of each flow, or the one that moves the
instance: ``sampling.spread``); test_crash_matrix runs them all.
"""

from __future__ import annotations

import os

import testscenarios
from nova_fault_injection_hooks import stage_ids

from nova import test
from nova.compute import power_state, vm_states
from nova.db import api as db_api
from nova.flow import FlowEngine
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional import multiprocess, sampling
from nova.tests.functional.compute import action_helpers as helpers
from nova.tests.functional.compute import move_helpers
from nova.virt import fake

load_tests = testscenarios.load_tests_apply_scenarios

#: Every flow a resize runs, the party running it, and the stage whose
#: work moves the instance - none: a resize killed anywhere is reverted
#: (past the destination's point of no return, only the user's revert
#: undoes it, but the conductor's call has failed by then).
RESIZE_FLOWS: dict[str, tuple[str, str | None]] = {
    'conductor.resize_instance': ('conductor', None),
    'compute.prep_resize': ('dest', None),
    'compute.resize_instance': ('source', None),
    'compute.finish_resize': ('dest', None),
}
#: Every flow a live migration runs, the party running it, and the stage
#: whose work moves the instance: a kill after it ends with the instance
#: on its destination ('*': every stage of the flow is past the move,
#: None: none is).  A kill after the work of a stage that is not
#: transactional ('crash-after') leaves that work done.
LIVE_FLOWS: dict[str, tuple[str, str | None]] = {
    'conductor.live_migrate_instance': ('conductor', 'live_migration'),
    'compute.pre_live_migration': ('dest', None),
    'compute.live_migration': ('source', 'live_migration'),
    'compute.post_live_migration_at_source': ('source', '*'),
    'compute.post_live_migration_at_destination': ('dest', '*'),
}
#: The same for an evacuation (its source is down and takes no part).
EVACUATE_FLOWS: dict[str, tuple[str, str | None]] = {
    'conductor.evacuate_instance': ('conductor', 'rebuild_on_destination'),
    'compute.evacuate_instance': ('dest', 'update_evacuated'),
}
#: Every flow a confirm of a resize runs and the party running it; each
#: resumes at restart, so a kill anywhere ends with the resize confirmed.
CONFIRM_FLOWS: dict[str, tuple[str, str | None]] = {
    'conductor.confirm_resize': ('conductor', None),
    'compute.confirm_resize': ('source', None),
}
#: The same for a revert: a kill of the conductor, the destination or
#: the source ends with the resize reverted (the conductor calls a
#: killed destination again until it answers).
REVERT_FLOWS: dict[str, tuple[str, str | None]] = {
    'conductor.revert_resize': ('conductor', None),
    'compute.revert_resize': ('dest', None),
    'compute.finish_revert_resize': ('source', None),
}
#: The returning source's cleanup after an evacuation, which it runs in
#: its start: every stage comes after the move.
DESTROY_EVACUATED_FLOWS: dict[str, tuple[str, str | None]] = {
    'compute.destroy_evacuated_instance': ('source', '*'),
}
#: How long a killed host's silence takes to fail a conductor's call.
RPC_TIMEOUT = '5'


def _moved(flow: str, moving: str | None, stage_id: str, kind: str) -> bool:
    """Does a kill at ``stage_id`` (``kind``) come after the move?"""
    if moving in ('*', None):
        return moving == '*'
    stages = stage_ids(flow)
    at, moves_at = stages.index(stage_id), stages.index(f'{flow}.{moving}')
    if at != moves_at:
        return at > moves_at
    leaf = FlowEngine.load().plan(flow).leaves[stage_id]
    # A transactional stage's work rolls back with the killed process.
    return kind == 'crash-after' and not leaf.transactional


def move_scenarios(flows: dict[str, tuple[str, str | None]],
                   sample: bool = False,
                   kinds: tuple[str, ...] = ('crash-after',)
                   ) -> list[tuple[str, dict]]:
    """(flow, stage, kind) cases of a move: with ``sample``, the stage
    that moves the instance, or else the last stage, of each flow."""
    found = []
    for flow, (party, moving) in flows.items():
        stages = stage_ids(flow)
        if sample:
            stages = ([f'{flow}.{moving}'] if moving not in ('*', None)
                      else stages[-1:])
        for stage_id in stages:
            for kind in kinds:
                found.append((f'{stage_id}:{kind}', {
                    'stage_id': stage_id, 'kind': kind, 'party': party,
                    'moved': _moved(flow, moving, stage_id, kind)}))
    return found


def failure_scenarios(flows: dict[str, tuple[str, str | None]],
                      late: bool = False, sample: bool = False,
                      ) -> list[tuple[str, dict]]:
    """A failure injected in each stage of ``flows`` before (or, with
    ``late``, after) the move's point of no return - its flow's own, or
    the move's when the whole flow runs after it ('*') - in whichever
    process runs it.  The cases take MariaDB and PostgreSQL in turn, so
    that the matrix runs on both without running every case twice; with
    ``sample``, only the last such stage (on MariaDB)."""
    stages = [stage_id for flow, (_party, moving) in flows.items()
              for stage_id in stage_ids(flow)
              if (moving == '*' or
                  helpers.past_point_of_no_return(stage_id)) == late]
    if sample:
        stages = stages[-1:]
    return [(f'{stage_id}:fail', {'stage_id': stage_id,
                                  'backend': BACKENDS[i % len(BACKENDS)]})
            for i, stage_id in enumerate(stages)]


BACKENDS = ('mysql', 'postgresql')


class _MoveProcesses(move_helpers.MoveHelpers, test.TestCase):

    backend = 'mysql'
    hosts: tuple[str, ...] = ('compute1', 'compute2')
    #: Every service fails in ``stage_id`` (fault injection).
    failing = False

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(multiprocess.ProcessCloud(
            self, self.backend, conductor_in_process=False,
            options={'DEFAULT': {'rpc_response_timeout': RPC_TIMEOUT}}))
        self.db = self.cloud.db
        self.ctx = self.cloud.ctx
        self.api = self.cloud.compute_api
        self.procs = {'conductor1': self.start('nova-conductor',
                                              'conductor1')}
        for host in self.hosts:
            self.procs[host] = self.start('nova-compute', host)

    def start(self, binary, host, **env):
        if self.failing:
            # Whichever service runs the stage fails there.
            env.setdefault('NOVA_FAULT_AT', f'{self.stage_id}:fail')
        return self.cloud.start(binary, host, hooks=('fault_injection',),
                                **env)

    def host_dies(self, host):
        """``host``'s nova-compute stops and the operator forces its
        service down (as before an evacuation); its service row."""
        self.procs.pop(host).stop()
        service = self.db.service_get_by_host_and_binary(
            self.ctx, host, 'nova-compute')
        self.db.service_update(self.ctx, service['id'],
                               {'forced_down': True})
        return service

    def assert_injected_fault(self, uuid):
        faults = self.db.instance_fault_get_by_instance_uuids(
            self.ctx, [uuid])[uuid]
        self.assertTrue([f for f in faults if 'injected failure in ' +
                         self.stage_id in f['message'] + (f['details'] or '')],
                        faults)

    def boot_active(self):
        uuid = self.cloud.boot(self.cloud.user_context())['uuid']
        return self.cloud.wait_for_state(uuid, vm_states.ACTIVE)

    def kill_during(self, instance, source, dest, request):
        party = {'conductor': 'conductor1', 'source': source,
                 'dest': dest}[self.party]
        binary = 'nova-conductor' if party == 'conductor1' else \
            'nova-compute'
        self.procs[party].stop()
        self.procs[party] = self.start(
            binary, party, NOVA_FAULT_AT=f'{self.stage_id}:{self.kind}')
        request()
        self.cloud.wait_for_marker(self.stage_id)
        self.procs[party].kill()
        self.procs[party] = self.start(binary, party)

    def runs_ended(self, uuid):
        runs = self.db.flow_runs_get_by_instance(self.ctx, uuid)
        if [r for r in runs if r['status'] == 'running']:
            return None
        return runs

    def settled(self, uuid, vm_state, host):
        """The instance, once ``vm_state`` with no task on ``host``
        (None: any host)."""
        return func_fixtures.wait_for(
            lambda: (lambda i: i if i['vm_state'] == vm_state and
                     i['task_state'] is None and
                     host in (None, i['host']) else None)(
                self.cloud.instance(uuid)),
            what=f'{uuid} to be {vm_state} on {host or "a host"}')

    def assert_owned_by(self, uuid, owner, other):
        """Guest, claim and memory on ``owner`` only."""
        self.assertEqual([uuid], self.cloud.hypervisor_guests(owner))
        self.assertEqual([], self.cloud.hypervisor_guests(other))
        self.assertEqual(owner, self.allocation_host(uuid))
        self.assertEqual(0, self.used_memory(other))
        guest = fake.read_state(f'{self.cloud.dir}/hypervisor-{owner}')[uuid]
        self.assertEqual(power_state.RUNNING, guest['power_state'])


class TestMovesOverRabbit(_MoveProcesses):

    scenarios = [('mysql', {'backend': 'mysql'}),
                 ('postgresql', {'backend': 'postgresql'})]
    hosts = ('compute1', 'compute2', 'compute3')

    def test_resize_confirm_then_migrate_revert(self):
        instance = self.boot_active()
        uuid, first = instance['uuid'], instance['host']
        self.api.resize(self.ctx, instance, '2')
        resized = self.cloud.wait_for_state(uuid, vm_states.RESIZED)
        second = resized['host']
        self.assertNotEqual(first, second)
        self.assertEqual('2', resized['flavor']['flavorid'])
        self.api.confirm_resize(self.ctx, resized)
        self.wait_for_migration(uuid, 'confirmed')
        confirmed = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual([], self.cloud.hypervisor_guests(first))
        self.assertEqual([uuid], self.cloud.hypervisor_guests(second))
        self.assertEqual(0, self.used_memory(first))

        self.api.migrate(self.ctx, confirmed)
        migrated = self.cloud.wait_for_state(uuid, vm_states.RESIZED)
        third = migrated['host']
        self.assertNotIn(third, (second,))
        self.assertEqual(second, self.allocation_host(
            self.migration(uuid)['uuid']))
        self.api.revert_resize(self.ctx, migrated)
        self.wait_for_migration(uuid, 'reverted')
        reverted = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual((second, '2'), (reverted['host'],
                                         reverted['flavor']['flavorid']))
        self.assertEqual([uuid], self.cloud.hypervisor_guests(second))
        self.assertEqual([], self.cloud.hypervisor_guests(third))
        self.assertEqual(second, self.allocation_host(uuid))
        self.assertEqual(0, self.used_memory(third))
        action = self.cloud.wait_for_action(uuid, 'revertResize')
        hosts = {e['host'] for e in self.db.action_events_get(
            self.ctx, action['id'])}
        self.assertEqual({'conductor1', second, third}, hosts)


    def test_live_migrate_then_evacuate(self):
        instance = self.boot_active()
        uuid, first = instance['uuid'], instance['host']
        self.api.live_migrate(self.ctx, instance, None, 'auto')
        self.wait_for_migration(uuid, 'completed')
        second = self.settled(uuid, vm_states.ACTIVE, None)['host']
        self.assertNotEqual(first, second)
        self.assert_owned_by(uuid, second, first)
        action = self.cloud.wait_for_action(uuid, 'live-migration')
        self.assertEqual({'conductor1', first, second}, {
            e['host'] for e in self.db.action_events_get(
                self.ctx, action['id'])})

        # The second host dies; the operator forces its service down.
        service = self.host_dies(second)
        self.api.evacuate(self.ctx, self.cloud.instance(uuid))
        third = func_fixtures.wait_for(
            lambda: (lambda i: i['host'] if i['host'] != second and
                     i['vm_state'] == vm_states.ACTIVE and
                     i['task_state'] is None else None)(
                self.cloud.instance(uuid)),
            what=f'{uuid} to be ACTIVE away from {second}')
        self.assertEqual('done', self.migration(uuid)['status'])
        # It comes back: it destroys the guest that was evacuated away.
        self.db.service_update(self.ctx, service['id'],
                               {'forced_down': False})
        self.procs[second] = self.start('nova-compute', second)
        self.wait_for_migration(uuid, 'completed')
        func_fixtures.wait_for(
            lambda: not self.cloud.hypervisor_guests(second),
            what=f'{second} to destroy the evacuated guest')
        self.assert_owned_by(uuid, third, second)


class TestResizeCrash(_MoveProcesses):
    """A sample of the crash matrix: the last stage of each flow."""

    scenarios = sampling.spread(move_scenarios(RESIZE_FLOWS, sample=True), 2)

    def test_killed_party_restarts_and_the_move_is_reverted(self):
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        dest = next(h for h in self.hosts if h != source)
        self.kill_during(instance, source, dest, lambda: self.api.resize(
            self.ctx, instance, '2'))

        server = func_fixtures.wait_for(
            lambda: (lambda i: i if i['vm_state'] == vm_states.ACTIVE and
                     i['task_state'] is None else None)(
                self.cloud.instance(uuid)),
            what=f'{uuid} to be ACTIVE again on {source}')
        self.assertEqual((source, '1'), (server['host'],
                                         server['flavor']['flavorid']))
        self.assertEqual([uuid], self.cloud.hypervisor_guests(source))
        self.assertEqual([], self.cloud.hypervisor_guests(dest))
        self.assertEqual(source, self.allocation_host(uuid))
        # None when the conductor was killed before it wrote one.
        if self.migration(uuid) is not None:
            migration = self.wait_for_migration(
                uuid, *db_api.MIGRATION_FINAL_STATUSES)
            self.assertIsNone(self.allocation_host(migration['uuid']))
        self.assertEqual(0, self.used_memory(dest))
        # Every run of the move ended, on every party.
        self.assertTrue(func_fixtures.wait_for(
            lambda: self.runs_ended(uuid), what='every run to end'))
        guest = fake.read_state(
            f'{self.cloud.dir}/hypervisor-{source}')[uuid]
        self.assertEqual(power_state.RUNNING, guest['power_state'])


class _ResizedCrash(_MoveProcesses):
    """A server resized to VERIFY_RESIZED (no kill), then the party
    running the scenario's stage of its confirm or revert killed and
    restarted: every flow of both resumes at restart, so the confirm or
    revert ends whole."""

    def resized(self):
        """A server resized from flavor 1 to flavor 2: it, its source,
        its destination."""
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        self.api.resize(self.ctx, instance, '2')
        resized = self.cloud.wait_for_state(uuid, vm_states.RESIZED)
        self.assertEqual('2', resized['flavor']['flavorid'])
        return resized, source, resized['host']

    def assert_ended(self, uuid, owner, other, flavor, status):
        """ACTIVE on ``owner`` with ``flavor``, its guest, claim and
        memory there only, the migration ``status`` with no claim left,
        every run ended."""
        server = self.settled(uuid, vm_states.ACTIVE, owner)
        self.assertEqual(flavor, server['flavor']['flavorid'])
        migration = self.wait_for_migration(
            uuid, *db_api.MIGRATION_FINAL_STATUSES)
        self.assertEqual(status, migration['status'])
        self.assertIsNone(self.allocation_host(migration['uuid']))
        self.assertTrue(func_fixtures.wait_for(
            lambda: self.runs_ended(uuid), what='every run to end'))
        self.assert_owned_by(uuid, owner, other)


class TestConfirmResizeCrash(_ResizedCrash):
    """A sample of the crash matrix of a confirm: the last stage of the
    conductor's flow and of the source's."""

    scenarios = sampling.spread(move_scenarios(CONFIRM_FLOWS, sample=True),
                                2)

    def test_killed_party_restarts_and_the_confirm_ends(self):
        instance, source, dest = self.resized()
        self.kill_during(instance, source, dest, lambda: (
            self.api.confirm_resize(self.ctx, instance)))
        self.assert_ended(instance['uuid'], dest, source, '2', 'confirmed')


class TestRevertResizeCrash(_ResizedCrash):
    """A sample of the crash matrix of a revert: the last stage of the
    conductor's flow, of the destination's and of the source's."""

    scenarios = sampling.spread(move_scenarios(REVERT_FLOWS, sample=True),
                                3)

    def test_killed_party_restarts_and_the_revert_ends(self):
        instance, source, dest = self.resized()
        self.kill_during(instance, source, dest, lambda: (
            self.api.revert_resize(self.ctx, instance)))
        self.assert_ended(instance['uuid'], source, dest, '1', 'reverted')
        # The user sees the revert end: the source's last stage in the
        # revertResize action, which is finished.
        action = self.cloud.wait_for_action(instance['uuid'], 'revertResize')
        events = {e['event']: e for e in self.db.action_events_get(
            self.ctx, action['id'])}
        self.assertEqual(
            'Success',
            events['compute.finish_revert_resize.update_reverted']['result'])


class TestLiveMigrationCrash(_MoveProcesses):
    """A sample of the crash matrix of a live migration."""

    scenarios = sampling.spread(move_scenarios(LIVE_FLOWS, sample=True), 2)

    def test_killed_party_restarts_and_the_move_ends_whole(self):
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        dest = next(h for h in self.hosts if h != source)
        self.kill_during(instance, source, dest, lambda: self.api.live_migrate(
            self.ctx, instance, None, 'auto'))

        owner, other = (dest, source) if self.moved else (source, dest)
        self.settled(uuid, vm_states.ACTIVE, owner)
        self.assertTrue(func_fixtures.wait_for(
            lambda: self.runs_ended(uuid), what='every run to end'))
        # None when the conductor was killed before it wrote one.
        if self.migration(uuid) is not None:
            migration = self.wait_for_migration(
                uuid, *db_api.MIGRATION_FINAL_STATUSES)
            self.assertEqual('completed' if self.moved else 'error',
                             migration['status'])
            self.assertIsNone(self.allocation_host(migration['uuid']))
        self.assert_owned_by(uuid, owner, other)


class TestEvacuateCrash(_MoveProcesses):
    """A sample of the crash matrix of an evacuation."""

    scenarios = move_scenarios(EVACUATE_FLOWS, sample=True)

    def test_killed_party_restarts_and_the_evacuation_ends_whole(self):
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        dest = next(h for h in self.hosts if h != source)
        # The source dies; the operator forces its service down.
        service = self.host_dies(source)
        self.kill_during(instance, source, dest, lambda: self.api.evacuate(
            self.ctx, instance))

        if self.moved:
            self.settled(uuid, vm_states.ACTIVE, dest)
        else:
            self.settled(uuid, vm_states.ERROR, source)
            self.assertEqual([], self.cloud.hypervisor_guests(dest))
            self.assertEqual(0, self.used_memory(dest))
        self.assertTrue(func_fixtures.wait_for(
            lambda: self.runs_ended(uuid), what='every run to end'))
        # None when the conductor was killed before it wrote one.
        migration = self.migration(uuid)
        if migration is not None:
            migration = self.wait_for_migration(
                uuid, 'done', 'failed', 'error')
            self.assertEqual('done' if self.moved else 'failed',
                             migration['status'])

        # The source comes back: it destroys an evacuated guest, keeps
        # its own.
        self.db.service_update(self.ctx, service['id'],
                               {'forced_down': False})
        self.procs[source] = self.start('nova-compute', source)
        if self.moved:
            self.wait_for_migration(uuid, 'completed')
            func_fixtures.wait_for(
                lambda: not self.cloud.hypervisor_guests(source),
                what=f'{source} to destroy the evacuated guest')
            self.assert_owned_by(uuid, dest, source)
        else:
            self.assertEqual([uuid], self.cloud.hypervisor_guests(source))
            self.assertEqual(source, self.allocation_host(uuid))
            if migration is not None:
                self.assertIsNone(self.allocation_host(migration['uuid']))


class TestDestroyEvacuatedCrash(_MoveProcesses):
    """A sample of the crash matrix of the returning source's cleanup
    after an evacuation: the source, back, killed in a stage of
    compute.destroy_evacuated_instance during its start, then started
    again."""

    scenarios = move_scenarios(DESTROY_EVACUATED_FLOWS, sample=True)

    def test_killed_source_restarts_and_destroys_the_evacuated_guest(self):
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        dest = next(h for h in self.hosts if h != source)
        service = self.host_dies(source)
        self.api.evacuate(self.ctx, instance)
        self.settled(uuid, vm_states.ACTIVE, dest)
        self.assertEqual('done', self.wait_for_migration(
            uuid, 'done', 'failed', 'error')['status'])
        self.assertEqual([uuid], self.cloud.hypervisor_guests(source))

        # The source comes back and is killed in its cleanup, which it
        # runs before it is ready; then it starts again.
        self.db.service_update(self.ctx, service['id'],
                               {'forced_down': False})
        self.procs[source] = self.start(
            'nova-compute', source, wait_ready=False,
            NOVA_FAULT_AT=f'{self.stage_id}:{self.kind}')
        self.cloud.wait_for_marker(self.stage_id)
        self.procs[source].kill()
        self.procs[source] = self.start('nova-compute', source)

        migration = self.wait_for_migration(uuid, 'completed')
        self.assertIsNone(self.allocation_host(migration['uuid']))
        self.assertTrue(func_fixtures.wait_for(
            lambda: self.runs_ended(uuid), what='every run to end'))
        self.settled(uuid, vm_states.ACTIVE, dest)
        self.assert_owned_by(uuid, dest, source)


class TestResizeFailure(_MoveProcesses):
    """A failure in a stage of a resize, in the process running it: the
    instance back on its source as it was, the migration 'error', nothing
    on the destination.  A sample; test_crash_matrix runs every stage."""

    failing = True
    scenarios = failure_scenarios(RESIZE_FLOWS, sample=True)

    def test_failure_is_reverted_on_every_host(self):
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        dest = next(h for h in self.hosts if h != source)
        self.api.resize(self.ctx, instance, '2')
        action = self.cloud.wait_for_action(uuid, 'resize')
        self.assertEqual('Error', action['message'])
        server = self.settled(uuid, vm_states.ACTIVE, source)
        self.assertEqual('1', server['flavor']['flavorid'])
        self.assertEqual([uuid], self.cloud.hypervisor_guests(source))
        self.assertEqual([], self.cloud.hypervisor_guests(dest))
        self.assertEqual(source, self.allocation_host(uuid))
        self.assertEqual(0, self.used_memory(dest))
        # None when the move failed before its record was written.
        for migration in self.migrations(uuid):
            self.assertEqual('error', migration['status'])
            self.assertIsNone(self.allocation_host(migration['uuid']))
        self.assertTrue(func_fixtures.wait_for(
            lambda: self.runs_ended(uuid), what='every run to end'))
        self.assert_injected_fault(uuid)


class TestLiveMigrationFailure(_MoveProcesses):
    """A failure before a live migration's point of no return: the
    instance runs on its source as it did, the migration 'error'."""

    failing = True
    scenarios = failure_scenarios(LIVE_FLOWS, sample=True)

    def test_failure_is_reverted_on_every_host(self):
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        dest = next(h for h in self.hosts if h != source)
        self.api.live_migrate(self.ctx, instance, None, 'auto')
        action = self.cloud.wait_for_action(uuid, 'live-migration')
        self.assertEqual('Error', action['message'])
        self.settled(uuid, vm_states.ACTIVE, source)
        self.assertTrue(func_fixtures.wait_for(
            lambda: self.runs_ended(uuid), what='every run to end'))
        for migration in self.migrations(uuid):
            self.assertEqual('error', migration['status'])
            self.assertIsNone(self.allocation_host(migration['uuid']))
        self.assert_owned_by(uuid, source, dest)
        self.assert_injected_fault(uuid)


class TestLiveMigrationLateFailure(_MoveProcesses):
    """A failure past a live migration's point of no return: the move
    finishes on the destination all the same - ERROR there, with the
    fault, when the destination could not take the guest."""

    failing = True
    scenarios = failure_scenarios(LIVE_FLOWS, late=True, sample=True)

    def test_failure_finishes_the_move(self):
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        dest = next(h for h in self.hosts if h != source)
        self.api.live_migrate(self.ctx, instance, None, 'auto')
        self.cloud.wait_for_action(uuid, 'live-migration')
        self.assertTrue(func_fixtures.wait_for(
            lambda: self.runs_ended(uuid), what='every run to end'))
        self.assertEqual('completed', self.wait_for_migration(
            uuid, *db_api.MIGRATION_FINAL_STATUSES)['status'])
        if move_helpers.guest_not_taken(self.stage_id):
            self.settled(uuid, vm_states.ERROR, dest)
            self.assertEqual([], self.cloud.hypervisor_guests(dest))
            self.assertEqual([], self.cloud.hypervisor_guests(source))
            self.assertEqual(dest, self.allocation_host(uuid))
            faults = self.db.instance_fault_get_by_instance_uuids(
                self.ctx, [uuid])[uuid]
            self.assertTrue([f for f in faults if 'did not take' in
                             f['message'] + (f['details'] or '')], faults)
        else:
            self.settled(uuid, vm_states.ACTIVE, dest)
            self.assert_owned_by(uuid, dest, source)


class TestEvacuateFailure(_MoveProcesses):
    """A failure in a stage of an evacuation: the instance ERROR on its
    dead source with the fault, the migration 'failed', nothing on the
    destination."""

    failing = True
    scenarios = failure_scenarios(EVACUATE_FLOWS, sample=True)

    def test_failure_leaves_nothing_on_the_destination(self):
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        dest = next(h for h in self.hosts if h != source)
        self.host_dies(source)
        self.api.evacuate(self.ctx, instance)
        action = self.cloud.wait_for_action(uuid, 'evacuate')
        self.assertEqual('Error', action['message'])
        self.settled(uuid, vm_states.ERROR, source)
        self.assertEqual([], self.cloud.hypervisor_guests(dest))
        self.assertEqual(0, self.used_memory(dest))
        self.assertEqual(source, self.allocation_host(uuid))
        self.assertTrue(func_fixtures.wait_for(
            lambda: self.runs_ended(uuid), what='every run to end'))
        # None when the evacuation failed before its record was written.
        for migration in self.migrations(uuid):
            self.assertEqual('failed', migration['status'])
            self.assertIsNone(self.allocation_host(migration['uuid']))
        self.assert_injected_fault(uuid)


class TestEvacuateLateFailure(_MoveProcesses):
    """A failure past an evacuation's point of no return: the instance
    stays on its destination, the evacuation done."""

    failing = True
    scenarios = failure_scenarios(EVACUATE_FLOWS, late=True, sample=True)

    def test_failure_keeps_the_instance_on_the_destination(self):
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        dest = next(h for h in self.hosts if h != source)
        self.host_dies(source)
        self.api.evacuate(self.ctx, instance)
        self.cloud.wait_for_action(uuid, 'evacuate')
        self.settled(uuid, vm_states.ACTIVE, dest)
        self.assertTrue(func_fixtures.wait_for(
            lambda: self.runs_ended(uuid), what='every run to end'))
        self.assertEqual('done', self.wait_for_migration(
            uuid, 'done', 'failed', 'error')['status'])
        self.assertEqual([uuid], self.cloud.hypervisor_guests(dest))
        self.assertEqual(dest, self.allocation_host(uuid))


#: The user's abort of a live migration held in progress, run by its
#: source: the held migration dies with a killed source, so every case
#: ends with the instance on its source - the move is never done.
ABORT_FLOWS: dict[str, tuple[str, str | None]] = {
    'compute.live_migration_abort': ('source', None),
}
#: The user's force-complete of one, run by its source: the move goes
#: on once the driver is told, so whether it is done depends on where
#: the guest was when the source died (``_HeldLiveMigrationCrash.kill``).
FORCE_COMPLETE_FLOWS: dict[str, tuple[str, str | None]] = {
    'compute.live_migration_force_complete': ('source', None),
}
#: The destination's rollback of a live migration whose driver call
#: failed on its source: it resumes at restart, the move is reverted.
ROLLBACK_FLOWS: dict[str, tuple[str, str | None]] = {
    'compute.rollback_live_migration_at_destination': ('dest', None),
}


class _LiveMigrationSideCrash(_MoveProcesses):
    """The party running the scenario's stage of a flow that runs beside
    or after a live migration, armed before the migration starts (a
    restart of it with the fault), then killed in the stage and
    restarted.  Every compute host gets ``compute_options``."""

    compute_options: dict[str, dict[str, str]] = {}

    def start(self, binary, host, **env):
        if binary == 'nova-compute':
            env.setdefault('options', self.compute_options)
        return super().start(binary, host, **env)

    def arm(self, host):
        """``host``'s nova-compute, restarted to stop for a kill in the
        scenario's stage."""
        self.procs[host].stop()
        self.procs[host] = self.start(
            'nova-compute', host,
            NOVA_FAULT_AT=f'{self.stage_id}:{self.kind}')

    def kill(self, host):
        """``host`` killed once it stopped in the stage, and restarted;
        whether its hypervisor still had the guest at the kill."""
        self.cloud.wait_for_marker(self.stage_id)
        self.procs[host].kill()
        kept = self.uuid in self.cloud.hypervisor_guests(host)
        self.procs[host] = self.start('nova-compute', host)
        return kept

    def source_and_dest(self):
        """An ACTIVE server (its UUID ``self.uuid``), its host and the
        other host."""
        instance = self.boot_active()
        self.uuid, source = instance['uuid'], instance['host']
        return instance, source, self.other(source)

    def assert_ended(self, owner, other, *statuses):
        """ACTIVE on ``owner``, its guest, claim, memory and ports there
        only, the migration in one of ``statuses`` with no claim left,
        every run ended; the migration's newest status."""
        self.settled(self.uuid, vm_states.ACTIVE, owner)
        self.assertTrue(func_fixtures.wait_for(
            lambda: self.runs_ended(self.uuid), what='every run to end'))
        migration = self.wait_for_migration(
            self.uuid, *db_api.MIGRATION_FINAL_STATUSES)
        self.assertIn(migration['status'], statuses)
        self.assertIsNone(self.allocation_host(migration['uuid']))
        self.assert_owned_by(self.uuid, owner, other)
        self.assertEqual([owner], self.port_hosts(self.uuid))
        return migration['status']


class _HeldLiveMigrationCrash(_LiveMigrationSideCrash):
    """A live migration held in progress on its source, 'running' with
    the guest not yet gone (``[fake_driver] block_methods =
    live_migration:before``, until an abort or a force-complete releases
    it); the source armed for the user's call on it."""

    compute_options = {'fake_driver': {
        'block_methods': 'live_migration:before'}}

    def held(self):
        """A live migration held in progress, its source armed: the
        instance, the source, the destination and the migration."""
        instance, source, dest = self.source_and_dest()
        self.arm(source)
        self.api.live_migrate(self.ctx, instance, None, 'auto')
        func_fixtures.wait_for(
            lambda: os.path.exists(fake.marker_path(
                f'{self.cloud.dir}/hypervisor-{source}', 'live_migration',
                self.uuid)),
            what=f'the live migration of {self.uuid} to be held')
        migration = self.wait_for_migration(self.uuid, 'running')
        return self.cloud.instance(self.uuid), source, dest, migration

    def assert_user_event(self, action):
        """The user's ``action`` ended, each of its events too."""
        row = self.cloud.wait_for_action(self.uuid, action)
        events = self.db.action_events_get(self.ctx, row['id'])
        self.assertTrue(events)
        self.assertEqual([], [e for e in events if not e['finish_time']])


class TestLiveMigrationAbortCrash(_HeldLiveMigrationCrash):
    """The source killed in its abort of a live migration held in
    progress (2.24, DELETE /servers/{id}/migrations/{mid}), then
    restarted: the held migration died with it, so the move is reverted
    - ACTIVE on the source, nothing on the destination - and the
    migration 'cancelled' when the abort reached the conductor before
    the kill, 'error' when the source died first (the conductor's call
    to it failed).  A sample; test_crash_matrix runs every stage."""

    scenarios = move_scenarios(ABORT_FLOWS, sample=True)

    def test_killed_source_restarts_and_the_move_is_reverted(self):
        instance, source, dest, migration = self.held()
        self.api.live_migrate_abort(self.ctx, instance, migration['id'])
        self.assertTrue(self.kill(source))

        status = self.assert_ended(source, dest, 'cancelled', 'error')
        if self.kind == 'crash-before' or not self.stage_id.endswith(
                '.abort_running_migration'):
            # The abort never reached the driver.
            self.assertEqual('error', status)
        self.assert_user_event('live_migration_cancel')


class TestLiveMigrationForceCompleteCrash(_HeldLiveMigrationCrash):
    """The source killed in its force-complete of a live migration held
    in progress (2.22, POST /servers/{id}/migrations/{mid}/action), then
    restarted: the move ends on whichever host has the guest - the
    destination when the released migration moved it before the kill
    (always after the source's run, 'completed'), the source otherwise
    (the move reverted, 'error').  A sample; test_crash_matrix runs every
    stage."""

    scenarios = move_scenarios(FORCE_COMPLETE_FLOWS, sample=True)

    def test_killed_source_restarts_and_the_move_ends_whole(self):
        instance, source, dest, migration = self.held()
        self.api.live_migrate_force_complete(self.ctx, instance,
                                             migration['id'])
        kept = self.kill(source)
        if self.kind == 'crash-before':
            # The driver was not told: the guest had not moved.
            self.assertTrue(kept)
        if kept:
            self.assert_ended(source, dest, 'error')
        else:
            self.assert_ended(dest, source, 'completed')
        self.assert_user_event('live_migration_force_complete')


class TestRollbackLiveMigrationCrash(_LiveMigrationSideCrash):
    """A live migration whose driver call fails on its source
    (``[fake_driver] fail_methods = live_migration``), its destination
    killed in its rollback (compute.rollback_live_migration_at_destination)
    and restarted: the rollback resumes there, the move is reverted -
    ACTIVE on the source, nothing on the destination, the migration
    'error'.  A sample; test_crash_matrix runs every stage."""

    compute_options = {'fake_driver': {'fail_methods': 'live_migration'}}
    scenarios = move_scenarios(ROLLBACK_FLOWS, sample=True)

    def test_killed_destination_restarts_and_the_move_is_reverted(self):
        instance, source, dest = self.source_and_dest()
        self.arm(dest)
        self.api.live_migrate(self.ctx, instance, None, 'auto')
        self.kill(dest)

        self.assert_ended(source, dest, 'error')
        action = self.cloud.wait_for_action(self.uuid, 'live-migration')
        self.assertEqual('Error', action['message'])
        faults = self.db.instance_fault_get_by_instance_uuids(
            self.ctx, [self.uuid])[self.uuid]
        self.assertIn('injected failure in live_migration',
                      faults[0]['message'] + (faults[0]['details'] or ''))
