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

The scenarios are generated from the flows (a new stage is covered
without editing this file).  The default run takes a sample (the last
stage of each flow); test_crash_matrix runs them all.
"""

from __future__ import annotations

import testscenarios
import testtools
from nova_fault_injection_hooks import stage_ids

from nova.compute import power_state, vm_states
from nova.db import api as db_api
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional import multiprocess
from nova.virt import fake

load_tests = testscenarios.load_tests_apply_scenarios

#: Every flow a resize runs, and which party runs it.
RESIZE_FLOWS = {
    'conductor.resize_instance': 'conductor',
    'compute.prep_resize': 'dest',
    'compute.resize_instance': 'source',
    'compute.finish_resize': 'dest',
}
#: How long a killed host's silence takes to fail a conductor's call.
RPC_TIMEOUT = '5'


def crash_scenarios(sample: bool = False,
                    kinds: tuple[str, ...] = ('crash-after',)
                    ) -> list[tuple[str, dict]]:
    found = []
    for flow, party in RESIZE_FLOWS.items():
        stages = stage_ids(flow)
        if sample:
            stages = stages[-1:]
        for stage_id in stages:
            for kind in kinds:
                found.append((f'{stage_id}:{kind}', {
                    'stage_id': stage_id, 'kind': kind, 'party': party}))
    return found


class _MoveProcesses(testtools.TestCase):

    backend = 'mysql'
    hosts: tuple[str, ...] = ('compute1', 'compute2')

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
        return self.cloud.start(binary, host, hooks=('fault_injection',),
                                **env)

    def boot_active(self):
        uuid = self.cloud.boot(self.cloud.user_context())['uuid']
        return self.cloud.wait_for_state(uuid, vm_states.ACTIVE)

    def allocation_host(self, consumer):
        allocation = self.db.allocation_get_by_instance(self.ctx, consumer)
        if allocation is None:
            return None
        return self.db.compute_node_get(
            self.ctx, allocation['compute_node_id'])['host']

    def migration(self, uuid):
        found = self.db.migration_get_all_by_filters(
            self.ctx, {'instance_uuid': uuid}, limit=1)
        return found[0] if found else None

    def wait_for_migration(self, uuid, statuses):
        return func_fixtures.wait_for(
            lambda: (lambda m: m if m and m['status'] in statuses
                     else None)(self.migration(uuid)),
            what=f'the migration of {uuid} to be {statuses}')

    def used_memory(self, host):
        return self.db.compute_node_get_all_by_host(
            self.ctx, host)[0]['memory_mb_used']


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
        self.wait_for_migration(uuid, ('confirmed',))
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
        self.wait_for_migration(uuid, ('reverted',))
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


class TestResizeCrash(_MoveProcesses):
    """A sample of the crash matrix: the last stage of each flow."""

    scenarios = crash_scenarios(sample=True)

    def test_killed_party_restarts_and_the_move_is_reverted(self):
        instance = self.boot_active()
        uuid, source = instance['uuid'], instance['host']
        dest = next(h for h in self.hosts if h != source)
        party = {'conductor': 'conductor1', 'source': source,
                 'dest': dest}[self.party]
        binary = 'nova-conductor' if party == 'conductor1' else \
            'nova-compute'
        self.procs[party].stop()
        self.procs[party] = self.start(
            binary, party, NOVA_FAULT_AT=f'{self.stage_id}:{self.kind}')

        self.api.resize(self.ctx, instance, '2')
        self.cloud.wait_for_marker(self.stage_id)
        self.procs[party].kill()
        self.procs[party] = self.start(binary, party)

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
                uuid, db_api.MIGRATION_FINAL_STATUSES)
            self.assertIsNone(self.allocation_host(migration['uuid']))
        self.assertEqual(0, self.used_memory(dest))
        # Every run of the move ended, on every party.
        self.assertTrue(func_fixtures.wait_for(
            lambda: self._runs_ended(uuid), what='every run to end'))
        guest = fake.read_state(
            f'{self.cloud.dir}/hypervisor-{source}')[uuid]
        self.assertEqual(power_state.RUNNING, guest['power_state'])

    def _runs_ended(self, uuid):
        runs = self.db.flow_runs_get_by_instance(self.ctx, uuid)
        if [r for r in runs if r['status'] == 'running']:
            return None
        return runs
