"""Multi-create with every service in its own process over RabbitMQ:
nova-conductor and two or three nova-compute hosts, each holding exactly
one m1.tiny (512 MB, ``ram_allocation_ratio`` 1.0).

* a request that fits, one that fits only min_count, one that fits
  fewer than min_count (nothing left claimed anywhere);
* a failure injected in a stage of conductor.build_instances, and in
  the configure and the power-on of one instance on its host;
* nova-conductor SIGKILLed before or after a stage of
  conductor.build_instances, then restarted: its recovery finishes or
  reverts the request;
* a nova-compute host SIGKILLed in its configure or power-on of one
  instance of the request: at restart it reverts its part and
  reschedules, and the other instance of the request stays ACTIVE where
  it is;
* a nova-compute host SIGKILLed in its unconfigure of an instance of a
  request whose conductor run failed after the configure phase: at
  restart it finishes the undo, and every instance ends in ERROR.

The default run takes a share of the stages for the failures and the
conductor's kills (``sampling.spread``); test_crash_matrix takes every
stage, generated from the flow.

Whatever happens, no claim or port is left without an owner: an ACTIVE
instance holds its claim on its host and its port bound there, an
ERROR or deleted one holds neither, and the hosts' usage is the sum of
the ACTIVE ones; every run has ended.
"""

from __future__ import annotations

import testscenarios
from nova_fault_injection_hooks import stage_ids

from nova import test
from nova.compute import vm_states
from nova.flow import FlowEngine
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional import multiprocess, sampling

load_tests = testscenarios.load_tests_apply_scenarios

TINY_MB = 512
FLOW = 'conductor.build_instances'


def crash_scenarios(sample: bool = False,
                    kinds: tuple[str, ...] = ('crash-after',)
                    ) -> list[tuple[str, dict]]:
    """(stage, kind) of conductor.build_instances; the sample: the claim
    (before any host has an instance), the configure phase (reverted)
    and the power-on phase (after the point of no return: resumed)."""
    found = []
    for stage_id in stage_ids(FLOW):
        if sample and not stage_id.endswith(('.claim_resources',
                                             '.configure_on_hosts',
                                             '.power_on_on_hosts')):
            continue
        for kind in kinds:
            found.append((f'{stage_id}:{kind}',
                          {'stage_id': stage_id, 'kind': kind}))
    return found


def failure_scenarios() -> list[tuple[str, dict]]:
    """A failure in each stage of conductor.build_instances."""
    return [(s.removeprefix(FLOW + '.'), {'stage_id': s})
            for s in stage_ids(FLOW)]


class _MultiCreateProcesses(test.TestCase):

    backend = 'mysql'
    hosts: tuple[str, ...] = ('compute1', 'compute2')
    #: [compute] options of every process.
    compute_options: dict[str, str] = {}

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(multiprocess.ProcessCloud(
            self, self.backend, conductor_in_process=False,
            options={'DEFAULT': {'rpc_response_timeout': '5',
                                 'ram_allocation_ratio': '1.0'},
                     'compute': dict(self.compute_options),
                     'fake_driver': {'memory_mb': str(TINY_MB)}}))
        self.db = self.cloud.db
        self.ctx = self.cloud.ctx
        self.procs = {'conductor1': self.start('nova-conductor',
                                              'conductor1')}
        for host in self.hosts:
            self.procs[host] = self.start('nova-compute', host)
        self.wait_for_hosts()

    def start(self, binary, host, **env):
        return self.cloud.start(binary, host, hooks=('fault_injection',),
                                **env)

    def wait_for_hosts(self):
        func_fixtures.wait_for(
            lambda: len(self.db.compute_node_get_all(self.ctx))
            == len(self.hosts), what='every host to report its node')

    def create(self, min_count, max_count):
        ctx = self.cloud.user_context()
        flavor = self.db.flavor_get_by_flavor_id(ctx, '1')
        instances, _ = self.cloud.compute_api.create(
            ctx, flavor, self.cloud.image['id'], name='multi',
            min_count=min_count, max_count=max_count)
        return [i['uuid'] for i in instances]

    def wait_settled(self, uuids):
        """Each instance ACTIVE, ERROR or deleted with no task, and every
        run of each ended."""
        def settled():
            found = {}
            for uuid in uuids:
                row = self.cloud.instance(uuid, read_deleted='yes')
                if row['task_state'] is not None or row['vm_state'] not in (
                        vm_states.ACTIVE, vm_states.ERROR,
                        vm_states.DELETED):
                    return None
                if [r for r in self.db.flow_runs_get_by_instance(
                        self.ctx, uuid) if r['status'] == 'running']:
                    return None
                found[uuid] = row
            return found
        return func_fixtures.wait_for(settled, what=f'{uuids} to settle')

    def faults(self, uuid):
        return self.db.instance_fault_get_by_instance_uuids(
            self.ctx, [uuid])[uuid]

    def assert_every_claim_owned(self, rows):
        active = {u: r['host'] for u, r in rows.items()
                  if r['vm_state'] == vm_states.ACTIVE}
        for uuid in rows:
            allocation = self.db.allocation_get_by_instance(self.ctx, uuid)
            self.assertEqual(uuid in active, allocation is not None,
                             f'{uuid}: {rows[uuid]["vm_state"]}, '
                             f'allocation {allocation}')
            # One port each (nova-conductor's, kept by the host, or the
            # host's own after a reschedule), bound to its host.
            ports = [p['host'] for p in self.db.fixed_ip_get_by_instance(
                self.ctx, uuid)]
            self.assertEqual([active[uuid]] if uuid in active else [],
                             ports, f'{uuid}: {rows[uuid]["vm_state"]}')
        for host in self.hosts:
            node = self.db.compute_node_get_all_by_host(self.ctx, host)[0]
            mine = [u for u, h in active.items() if h == host]
            self.assertEqual(TINY_MB * len(mine), node['memory_mb_used'],
                             host)
            self.assertEqual(sorted(mine),
                             self.cloud.hypervisor_guests(host), host)


class TestMultiCreateOverRabbit(_MultiCreateProcesses):

    hosts = ('compute1', 'compute2', 'compute3')

    def test_request_that_fits(self):
        uuids = self.create(2, 3)
        rows = self.wait_settled(uuids)
        self.assertEqual([vm_states.ACTIVE] * 3,
                         [rows[u]['vm_state'] for u in uuids])
        self.assertEqual(set(self.hosts), {r['host'] for r in rows.values()})
        self.assert_every_claim_owned(rows)

    def test_request_that_fits_only_some(self):
        uuids = self.create(2, 4)
        rows = self.wait_settled(uuids)
        states = sorted(r['vm_state'] for r in rows.values())
        self.assertEqual([vm_states.ACTIVE] * 3 + [vm_states.DELETED],
                         states)
        self.assert_every_claim_owned(rows)

    def test_request_that_fits_fewer_than_min(self):
        uuids = self.create(4, 5)
        rows = self.wait_settled(uuids)
        self.assertEqual([vm_states.ERROR] * 5,
                         [rows[u]['vm_state'] for u in uuids])
        for uuid in uuids:
            self.assertIn('No valid host was found',
                          self.faults(uuid)[0]['message'])
        self.assert_every_claim_owned(rows)


class TestConductorFails(_MultiCreateProcesses):
    """A failure injected in each stage of conductor.build_instances.

    Before the point of no return every instance ends in ERROR with the
    fault (those configured on a host unconfigured there); a failure in
    power_on_on_hosts (after it) leaves the instances configured, and
    each host's ``[compute] configured_instance_timeout`` check undoes
    them."""

    scenarios = sampling.spread(failure_scenarios(), 2)
    compute_options = {'configured_instance_timeout': '10'}

    def test_failure_leaves_no_claim_without_an_owner(self):
        self.procs['conductor1'].stop()
        self.procs['conductor1'] = self.start(
            'nova-conductor', 'conductor1',
            NOVA_FAULT_AT=f'{self.stage_id}:fail')
        uuids = self.create(2, 2)
        rows = self.wait_settled(uuids)
        states = {r['vm_state'] for r in rows.values()}
        self.assertEqual({vm_states.ERROR}, states)
        for uuid in uuids:
            self.assertIn('InjectedFault' if not self.stage_id.endswith(
                '.power_on_on_hosts') else 'did not come within 10 seconds',
                self.faults(uuid)[0]['message'])
        self.assert_every_claim_owned(rows)


class TestPhaseFails(_MultiCreateProcesses):
    """A failure injected in the configure or the power-on of one
    instance, on its host (the other host is full): that instance
    follows the build's rules - rescheduled, no host left, ERROR - and
    the other is ACTIVE."""

    scenarios = [
        ('configure', {'stage_id':
                       'compute.configure_instance.configure_guest'}),
        ('power_on', {'stage_id':
                      'compute.power_on_instance.driver_power_on'})]

    def test_failed_instance_errors_the_other_is_active(self):
        self.procs['compute2'].stop()
        self.procs['compute2'] = self.start(
            'nova-compute', 'compute2',
            NOVA_FAULT_AT=f'{self.stage_id}:fail')
        uuids = self.create(2, 2)
        rows = self.wait_settled(uuids)
        self.assertEqual([(vm_states.ACTIVE, 'compute1'),
                          (vm_states.ERROR, None)],
                         sorted((r['vm_state'], r['host'])
                                for r in rows.values()))
        self.assert_every_claim_owned(rows)


class TestConductorKilled(_MultiCreateProcesses):
    """A sample of the crash matrix of conductor.build_instances."""

    scenarios = sampling.spread(crash_scenarios(sample=True), 1)

    def test_restarted_conductor_finishes_or_reverts_the_request(self):
        self.procs['conductor1'].stop()
        self.procs['conductor1'] = self.start(
            'nova-conductor', 'conductor1',
            NOVA_FAULT_AT=f'{self.stage_id}:{self.kind}')
        uuids = self.create(2, 2)
        self.cloud.wait_for_marker(self.stage_id)
        self.procs['conductor1'].kill()
        self.procs['conductor1'] = self.start('nova-conductor',
                                              'conductor1')

        rows = self.wait_settled(uuids)
        states = {r['vm_state'] for r in rows.values()}
        if stage_ids(FLOW).index(self.stage_id) < \
                stage_ids(FLOW).index(f'{FLOW}.power_on_on_hosts'):
            # Reverted at restart: what a host configured it unconfigured.
            self.assertEqual({vm_states.ERROR}, states)
        else:
            # Resumed at restart: powered on (again: refused by a host
            # that has it ACTIVE already).
            self.assertEqual({vm_states.ACTIVE}, states)
        self.assert_every_claim_owned(rows)


def phase_crash_scenarios(kinds: tuple[str, ...] = ('crash-after',),
                          sample: bool = False) -> list[tuple[str, dict]]:
    """(stage, kind) of the phases a host runs for a multi-create; the
    sample: the guest defined, and the guest started."""
    found = []
    for flow in PHASES:
        for stage_id in stage_ids(flow):
            if sample and not stage_id.endswith(('.configure_guest',
                                                 '.driver_power_on')):
                continue
            for kind in kinds:
                found.append((f'{stage_id}:{kind}',
                              {'stage_id': stage_id, 'kind': kind}))
    return found


PHASES = ('compute.configure_instance', 'compute.power_on_instance')


def _past_point_of_no_return(stage_id: str) -> bool:
    flow = stage_id.rsplit('.', 1)[0]
    leaf = FlowEngine.load().plan(flow).leaves[stage_id]
    return bool(leaf.committed and not leaf.commits)


class TestComputeKilled(_MultiCreateProcesses):
    """A host killed in its configure or power-on of one instance of a
    request of two (the other host is full)."""

    scenarios = phase_crash_scenarios(sample=True)

    def test_killed_host_reverts_its_instance_the_other_stays(self):
        stage_id = self.stage_id
        self.procs['compute2'].stop()
        self.procs['compute2'] = self.start(
            'nova-compute', 'compute2',
            NOVA_FAULT_AT=f'{stage_id}:{self.kind}')
        uuids = self.create(2, 2)
        self.cloud.wait_for_marker(stage_id)
        self.procs['compute2'].kill()
        self.procs['compute2'] = self.start('nova-compute', 'compute2')

        rows = self.wait_settled(uuids)
        by_state = sorted((r['vm_state'], r['host']) for r in rows.values())
        if _past_point_of_no_return(stage_id):
            # The power-on was done: resumed at restart, ACTIVE there.
            self.assertEqual([(vm_states.ACTIVE, 'compute1'),
                              (vm_states.ACTIVE, 'compute2')], by_state)
        else:
            # compute2 reverts its part at restart and reschedules it;
            # the only other host is full, so it ends in ERROR.
            self.assertEqual([(vm_states.ACTIVE, 'compute1'),
                              (vm_states.ERROR, None)], by_state)
        self.assert_every_claim_owned(rows)


UNCONFIGURE = 'compute.unconfigure_instance'


def unconfigure_scenarios(kinds: tuple[str, ...] = ('crash-after',),
                          sample: bool = False) -> list[tuple[str, dict]]:
    """(stage, kind) of compute.unconfigure_instance; the sample: the
    guest undefined, and the instance set to ERROR."""
    found = []
    for stage_id in stage_ids(UNCONFIGURE):
        if sample and not stage_id.endswith(('.driver_unconfigure',
                                             '.update_error')):
            continue
        for kind in kinds:
            found.append((f'{stage_id}:{kind}',
                          {'stage_id': stage_id, 'kind': kind}))
    return found


class TestUnconfigureKilled(_MultiCreateProcesses):
    """A host killed in its unconfigure of one instance of a request of
    two whose conductor run fails after configuring both (in
    delete_unreserved, the last stage before its point of no return):
    the conductor's revert casts the unconfigure to each host, the
    restarted host resumes its cut run, and both instances end in
    ERROR with nothing left on either host."""

    scenarios = sampling.spread(unconfigure_scenarios(sample=True), 1)

    def test_restarted_host_finishes_the_unconfigure(self):
        self.procs['conductor1'].stop()
        self.procs['conductor1'] = self.start(
            'nova-conductor', 'conductor1',
            NOVA_FAULT_AT=f'{FLOW}.delete_unreserved:fail')
        self.procs['compute2'].stop()
        self.procs['compute2'] = self.start(
            'nova-compute', 'compute2',
            NOVA_FAULT_AT=f'{self.stage_id}:{self.kind}')
        uuids = self.create(2, 2)
        self.cloud.wait_for_marker(self.stage_id)
        self.procs['compute2'].kill()
        self.procs['compute2'] = self.start('nova-compute', 'compute2')

        rows = self.wait_settled(uuids)
        self.assertEqual([vm_states.ERROR] * 2,
                         [rows[u]['vm_state'] for u in uuids])
        self.assert_every_claim_owned(rows)
        # compute2's cut run was resumed and ended; each instance has a
        # fault and its create action ended in Error.
        runs = [r for u in uuids for r in self.db.flow_runs_get_by_instance(
            self.ctx, u) if r['flow'] == UNCONFIGURE]
        self.assertEqual(['success'] * 2, [r['status'] for r in runs])
        for uuid in uuids:
            self.assertTrue(self.faults(uuid), uuid)
            (create,) = [a for a in self.db.actions_get(self.ctx, uuid)
                         if a['action'] == 'create']
            self.assertEqual('Error', create['message'])
