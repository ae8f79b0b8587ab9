"""Multi-create through conductor.build_instances: between min_count and
max_count instances, or none.

Every compute host of these clouds holds exactly one m1.tiny (512 MB,
``ram_allocation_ratio`` 1.0), so the number of hosts is the number of
instances that fit.  Whatever happens, no claim is left without an
owner: an ACTIVE instance holds one on its host, an ERROR or deleted
one holds none, and the hosts' usage is the sum of the ACTIVE ones.
"""

import fixtures
import testscenarios
from nova_fault_injection_hooks import stage_ids

from nova import test
from nova.compute import vm_states
from nova.tests.functional import fixtures as func_fixtures

load_tests = testscenarios.load_tests_apply_scenarios

TINY_MB = 512


def one_tiny_per_host(hosts, **overrides):
    return func_fixtures.LocalCloud(
        compute_hosts=hosts, ram_allocation_ratio=1.0,
        fake_driver__memory_mb=TINY_MB, **overrides)


class _MultiCreate(test.TestCase):

    def create(self, min_count, max_count):
        cloud = self.cloud
        ctx = cloud.user_context()
        flavor = cloud.db.flavor_get_by_flavor_id(ctx, '1')
        instances, reservation_id = cloud.compute_api.create(
            ctx, flavor, cloud.image['id'], name='multi',
            min_count=min_count, max_count=max_count)
        return [i['uuid'] for i in instances], reservation_id

    def wait_settled(self, uuids):
        """Each instance ACTIVE, ERROR or deleted, with no task, and its
        create action finished: the conductor's failure handler sets an
        instance to ERROR before it releases the claim, and finishes the
        action after."""
        def settled():
            found = {}
            for uuid in uuids:
                row = self.cloud.instance(uuid, read_deleted='yes')
                if row['task_state'] is not None or row['vm_state'] not in (
                        vm_states.ACTIVE, vm_states.ERROR,
                        vm_states.DELETED):
                    return None
                actions = self.cloud.db.actions_get(self.cloud.ctx, uuid,
                                                    limit=1)
                if not actions or actions[0]['finish_time'] is None:
                    return None
                found[uuid] = row
            return found
        return func_fixtures.wait_for(settled, what=f'{uuids} to settle')

    def faults(self, uuid):
        return self.cloud.db.instance_fault_get_by_instance_uuids(
            self.cloud.ctx, [uuid])[uuid]

    def assert_every_claim_owned(self, rows):
        """Claims exactly for the ACTIVE instances, usage their sum."""
        db, ctx = self.cloud.db, self.cloud.ctx
        active = [u for u, r in rows.items()
                  if r['vm_state'] == vm_states.ACTIVE]
        for uuid in rows:
            allocation = db.allocation_get_by_instance(ctx, uuid)
            self.assertEqual(uuid in active, allocation is not None,
                             f'{uuid}: {rows[uuid]["vm_state"]}, '
                             f'allocation {allocation}')
        used = sum(n['memory_mb_used'] for n in db.compute_node_get_all(ctx))
        self.assertEqual(TINY_MB * len(active), used)


class TestMultiCreate(_MultiCreate):

    def test_request_that_fits_builds_every_instance(self):
        self.cloud = self.useFixture(one_tiny_per_host(
            ('compute1', 'compute2', 'compute3')))
        uuids, reservation_id = self.create(2, 3)
        rows = self.wait_settled(uuids)
        self.assertEqual([vm_states.ACTIVE] * 3,
                         [rows[u]['vm_state'] for u in uuids])
        self.assertEqual({'compute1', 'compute2', 'compute3'},
                         {r['host'] for r in rows.values()})
        self.assertEqual({reservation_id},
                         {r['reservation_id'] for r in rows.values()})
        self.assert_every_claim_owned(rows)
        # The conductor's stages are events of the first server's create.
        action = self.cloud.wait_for_action(uuids[0], 'create')
        events = [e['event'] for e in self.cloud.db.action_events_get(
            self.cloud.ctx, action['id'])]
        self.assertIn('conductor.build_instances.claim_resources', events)

    def test_request_that_fits_only_some_gets_those_and_no_more(self):
        self.cloud = self.useFixture(one_tiny_per_host(
            ('compute1', 'compute2', 'compute3')))
        uuids, _ = self.create(2, 4)
        rows = self.wait_settled(uuids)
        states = [rows[u]['vm_state'] for u in uuids]
        self.assertEqual(3, states.count(vm_states.ACTIVE), states)
        (deleted,) = [u for u in uuids
                      if rows[u]['vm_state'] == vm_states.DELETED]
        self.assertIn('No valid host', self.faults(deleted)[0]['message'])
        self.assertIn('only 3 of 4', self.faults(deleted)[0]['details']
                      or self.faults(deleted)[0]['message'])
        self.assert_every_claim_owned(rows)

    def test_request_that_fits_fewer_than_min_gets_none(self):
        self.cloud = self.useFixture(one_tiny_per_host(('compute1',)))
        uuids, _ = self.create(2, 4)
        rows = self.wait_settled(uuids)
        self.assertEqual([vm_states.ERROR] * 4,
                         [rows[u]['vm_state'] for u in uuids])
        for uuid in uuids:
            (fault,) = self.faults(uuid)
            self.assertIn('No valid host was found', fault['message'])
            self.assertIsNone(rows[uuid]['host'])
            action = self.cloud.wait_for_action(uuid, 'create')
            self.assertEqual('Error', action['message'])
        self.assert_every_claim_owned(rows)
        self.assertEqual([], self.cloud.manager('compute1').driver
                         .list_instances())

    def test_single_instance_boot_is_unchanged(self):
        self.cloud = self.useFixture(one_tiny_per_host(('compute1',)))
        uuids, _ = self.create(1, 1)
        rows = self.wait_settled(uuids)
        self.assertEqual(vm_states.ACTIVE, rows[uuids[0]]['vm_state'])
        self.assert_every_claim_owned(rows)


class TestMultiCreateFailsInEachStage(_MultiCreate):
    """A failure in each stage of conductor.build_instances: before the
    point of no return the request ends with no instance built and
    nothing claimed (what a host configured, it unconfigured); in
    power_on_on_hosts (after it) the configured instances wait for
    their hosts' ``[compute] configured_instance_timeout`` check, which
    undoes them - and no claim is left without an owner."""

    scenarios = [(s.removeprefix('conductor.build_instances.'),
                  {'stage_id': s})
                 for s in stage_ids('conductor.build_instances')]

    def test_failure_leaves_no_claim_without_an_owner(self):
        self.useFixture(fixtures.EnvironmentVariable(
            'NOVA_FAULT_AT', f'{self.stage_id}:fail'))
        late = self.stage_id.endswith('.power_on_on_hosts')
        options = {'compute__configured_instance_timeout': 3} if late \
            else {}
        self.cloud = self.useFixture(one_tiny_per_host(
            ('compute1', 'compute2'),
            flow__enabled_hooks=['fault_injection'], **options))
        uuids, _ = self.create(2, 2)
        rows = self.wait_settled(uuids)
        self.assertEqual({vm_states.ERROR},
                         {rows[u]['vm_state'] for u in uuids})
        for uuid in uuids:
            self.assertIn('did not come within 3 seconds' if late
                          else 'InjectedFault',
                          self.faults(uuid)[0]['message'])
        self.assert_every_claim_owned(rows)


class TestMultiCreateFromVolumes(_MultiCreate):
    """Servers booted from volumes made from the image (an image ->
    volume mapping): conductor.build_instances' create_volumes makes
    every instance's volume before any host configures one, each
    recorded on its own instance's mapping."""

    def create_from_volumes(self, min_count, max_count):
        cloud = self.cloud
        ctx = cloud.user_context()
        flavor = cloud.db.flavor_get_by_flavor_id(ctx, '1')
        instances, _ = cloud.compute_api.create(
            ctx, flavor, None, name='multi-bfv', min_count=min_count,
            max_count=max_count, block_device_mapping=[{
                'source_type': 'image', 'destination_type': 'volume',
                'image_id': cloud.image['id'], 'volume_size': 1,
                'boot_index': 0, 'delete_on_termination': True}])
        return [i['uuid'] for i in instances]

    def volumes(self):
        return self.cloud.manager('compute1').services.volume.get_all(
            self.cloud.ctx)

    def mapping(self, uuid):
        ctx = self.cloud.ctx
        (bdm,) = self.cloud.db.block_device_mapping_get_all_by_instance(
            ctx, uuid)
        return bdm

    def ports(self, uuids):
        return {u: p for u in uuids
                if (p := self.cloud.manager('compute1').services.network
                    .get_instance_nw_info(self.cloud.ctx, u))}

    def test_request_that_fits_boots_each_from_its_own_volume(self):
        self.cloud = self.useFixture(one_tiny_per_host(
            ('compute1', 'compute2', 'compute3')))
        uuids = self.create_from_volumes(2, 3)
        rows = self.wait_settled(uuids)
        self.assertEqual([vm_states.ACTIVE] * 3,
                         [rows[u]['vm_state'] for u in uuids])
        volumes = {v['id']: v for v in self.volumes()}
        self.assertEqual(3, len(volumes))
        for uuid in uuids:
            volume = volumes[self.mapping(uuid)['volume_id']]
            self.assertEqual(('in-use', uuid),
                             (volume['status'], volume['instance_uuid']))
        self.assert_every_claim_owned(rows)
        action = self.cloud.wait_for_action(uuids[0], 'create')
        events = [e['event'] for e in self.cloud.db.action_events_get(
            self.cloud.ctx, action['id'])]
        self.assertIn('conductor.build_instances.create_volumes', events)

    def test_volumes_that_cannot_be_made_leave_nothing(self):
        """The image does not fit the volumes asked for (the volume
        service refuses each): fewer than min_count get their volume,
        so every instance is ERROR with the volume's error and no
        volume, claim or port is left."""
        self.cloud = self.useFixture(one_tiny_per_host(
            ('compute1', 'compute2')))
        self.cloud.db.image_update(self.cloud.ctx, self.cloud.image['id'],
                                   {'size': 2 * 1024 ** 3})
        uuids = self.create_from_volumes(2, 2)
        rows = self.wait_settled(uuids)
        for uuid in uuids:
            self.assertEqual(vm_states.ERROR, rows[uuid]['vm_state'])
            self.assertIsNone(rows[uuid]['host'])
            (fault,) = self.faults(uuid)
            self.assertIn('is larger than volume size 1GB',
                          fault['message'])
            self.assertIsNone(self.mapping(uuid)['volume_id'])
        self.assertEqual([], self.volumes())
        self.assertEqual({}, self.ports(uuids))
        self.assert_every_claim_owned(rows)
