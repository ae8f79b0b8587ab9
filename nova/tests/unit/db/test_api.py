"""nova.db.api on SQLite, MariaDB and PostgreSQL."""

from __future__ import annotations

import datetime
import uuid

import testscenarios
from oslo_utils import timeutils

from nova import context, exception
from nova.db import api as db
from nova.tests.unit.db import base

load_tests = testscenarios.load_tests_apply_scenarios


def _instance(ctx, **values):
    defaults = {'project_id': ctx.project_id, 'user_id': ctx.user_id,
                'display_name': 'server', 'vm_state': 'building',
                'task_state': 'scheduling', 'memory_mb': 512, 'vcpus': 1,
                'root_gb': 1, 'flavor': {'name': 'm1.tiny', 'memory_mb': 512,
                                         'extra_specs': {'a': 'b'}}}
    defaults.update(values)
    return db.instance_create(ctx, defaults)


class InstanceTestCase(base.DBTestCase):

    def test_create_returns_the_stored_row_in_one_statement(self):
        counter = self.count_statements()
        instance = _instance(self.ctx, user_data='c2VjcmV0',
                             metadata={'k': 'v'}, tags=['web'])
        self.assertEqual(1, counter.count)
        self.assertIsInstance(instance['id'], int)
        self.assertEqual(0, instance['deleted'])
        self.assertIsNotNone(instance['created_at'])
        self.assertFalse(instance['locked'])
        self.assertEqual({}, instance['system_metadata'])
        self.assertEqual(instance,
                         db.instance_get_by_uuid(self.ctx, instance['uuid']))

    def test_json_columns_round_trip(self):
        flavor = {'name': 'big', 'vcpus': 8,
                  'extra_specs': {'hw:cpu_policy': 'dedicated'}}
        instance = _instance(self.ctx, flavor=flavor,
                             security_groups=['default', 'web'])
        got = db.instance_get_by_uuid(self.ctx, instance['uuid'])
        self.assertEqual(flavor, got['flavor'])
        self.assertEqual(['default', 'web'], got['security_groups'])

    def test_create_with_taken_uuid_raises_instance_exists(self):
        instance = _instance(self.ctx)
        self.assertRaises(exception.InstanceExists, _instance, self.ctx,
                          uuid=instance['uuid'])

    def test_get_missing_raises_instance_not_found(self):
        self.assertRaises(exception.InstanceNotFound,
                          db.instance_get_by_uuid, self.ctx,
                          str(uuid.uuid4()))

    def test_update_with_expected_task_state_is_one_statement(self):
        instance = _instance(self.ctx)
        counter = self.count_statements()
        written = db.instance_update(
            self.ctx, instance['uuid'], {'task_state': 'spawning'},
            expected_task_state='scheduling')
        self.assertEqual(1, counter.count)
        self.assertEqual('spawning', written['task_state'])
        self.assertIn('updated_at', written)
        self.assertEqual('spawning', db.instance_get_by_uuid(
            self.ctx, instance['uuid'])['task_state'])

    def test_update_with_wrong_task_state_raises_and_writes_nothing(self):
        instance = _instance(self.ctx)
        error = self.assertRaises(
            exception.UnexpectedTaskStateError, db.instance_update,
            self.ctx, instance['uuid'], {'task_state': 'deleting'},
            expected_task_state=['spawning', None])
        self.assertEqual('scheduling', error.kwargs['actual'])
        self.assertEqual(409, error.code)
        self.assertEqual('scheduling', db.instance_get_by_uuid(
            self.ctx, instance['uuid'])['task_state'])

    def test_expected_task_state_none_matches_no_task(self):
        instance = _instance(self.ctx, task_state=None)
        db.instance_update(self.ctx, instance['uuid'],
                           {'task_state': 'rebooting'},
                           expected_task_state=(None,))
        self.assertRaises(exception.UnexpectedTaskStateError,
                          db.instance_update, self.ctx, instance['uuid'],
                          {'task_state': 'rebooting'},
                          expected_task_state=None)

    def test_update_with_wrong_vm_state_raises(self):
        instance = _instance(self.ctx)
        self.assertRaises(exception.UnexpectedVMStateError,
                          db.instance_update, self.ctx, instance['uuid'],
                          {'vm_state': 'active'},
                          expected_vm_state='active')

    def test_update_of_missing_or_deleted_raises_not_found(self):
        self.assertRaises(exception.InstanceNotFound, db.instance_update,
                          self.ctx, str(uuid.uuid4()), {'host': 'h'})
        instance = _instance(self.ctx)
        db.instance_destroy(self.ctx, instance['uuid'])
        self.assertRaises(exception.InstanceNotFound, db.instance_update,
                          self.ctx, instance['uuid'], {'host': 'h'},
                          expected_task_state=None)

    def test_concurrent_compare_and_swap_has_one_winner(self):
        instance = _instance(self.ctx, task_state=None)

        def take(index):
            return db.instance_update(
                context.get_admin_context(), instance['uuid'],
                {'task_state': f'task-{index}'}, expected_task_state=None)

        results, errors = base.run_concurrently(8, take)
        self.assertEqual(1, len(results))
        self.assertEqual(7, len(errors))
        for error in errors:
            self.assertIsInstance(error, exception.UnexpectedTaskStateError)
        self.assertEqual(results[0]['task_state'], db.instance_get_by_uuid(
            self.ctx, instance['uuid'])['task_state'])

    def test_destroy_soft_deletes_instance_and_block_devices(self):
        instance = _instance(self.ctx)
        db.block_device_mapping_create(self.ctx, {
            'instance_uuid': instance['uuid'], 'source_type': 'image',
            'destination_type': 'local', 'boot_index': 0})
        db.instance_destroy(self.ctx, instance['uuid'])
        self.assertRaises(exception.InstanceNotFound,
                          db.instance_get_by_uuid, self.ctx,
                          instance['uuid'])
        deleted = db.instance_get_by_uuid(self.ctx, instance['uuid'],
                                          read_deleted='yes')
        self.assertEqual(deleted['id'], deleted['deleted'])
        self.assertEqual('deleted', deleted['vm_state'])
        self.assertIsNone(deleted['task_state'])
        self.assertIsNotNone(deleted['deleted_at'])
        self.assertIsNotNone(deleted['terminated_at'])
        self.assertEqual([], db.block_device_mapping_get_all_by_instance(
            self.ctx, instance['uuid']))

    def test_destroy_again_is_a_no_op_and_missing_raises(self):
        instance = _instance(self.ctx)
        db.instance_destroy(self.ctx, instance['uuid'])
        db.instance_destroy(self.ctx, instance['uuid'])
        self.assertRaises(exception.InstanceNotFound, db.instance_destroy,
                          self.ctx, str(uuid.uuid4()))

    def test_read_deleted_from_context(self):
        instance = _instance(self.ctx)
        db.instance_destroy(self.ctx, instance['uuid'])
        ctx = context.get_admin_context()
        ctx.read_deleted = 'yes'
        self.assertEqual(instance['uuid'], db.instance_get_by_uuid(
            ctx, instance['uuid'])['uuid'])

    def test_usage_by_project(self):
        _instance(self.ctx, vcpus=2, memory_mb=1024)
        _instance(self.ctx, vcpus=4, memory_mb=2048)
        gone = _instance(self.ctx, vcpus=8, memory_mb=4096)
        _instance(context.RequestContext('other', 'other-project'))
        db.instance_destroy(self.ctx, gone['uuid'])
        self.assertEqual({'instances': 2, 'cores': 6, 'ram': 3072},
                         db.instance_usage_by_project(self.ctx,
                                                      'fake-project'))


class InstanceFilterTestCase(base.DBTestCase):

    def setUp(self):
        super().setUp()
        start = datetime.datetime(2024, 1, 1)
        self.instances = []
        for index, (name, host, state) in enumerate([
                ('web-1', 'host-a', 'active'), ('web-2', 'host-b', 'active'),
                ('db-1', 'host-a', 'stopped'), ('db-2', None, 'error')]):
            self.instances.append(_instance(
                self.ctx, display_name=name, host=host, vm_state=state,
                tags=['web'] if name.startswith('web') else ['db'],
                created_at=start + datetime.timedelta(minutes=index)))
        _instance(context.RequestContext('u2', 'other-project'),
                  display_name='web-other')

    def _names(self, filters=None, **kwargs):
        return [i['display_name'] for i in
                db.instance_get_all_by_filters(self.ctx, filters, **kwargs)]

    def test_default_order_is_newest_first(self):
        self.assertEqual(['db-2', 'db-1', 'web-2', 'web-1'],
                         self._names({'project_id': 'fake-project'}))

    def test_exact_and_list_filters(self):
        self.assertEqual(['db-1', 'web-1'], self._names({'host': 'host-a'}))
        self.assertEqual(['db-2', 'db-1'], self._names(
            {'project_id': 'fake-project',
             'vm_state': ['stopped', 'error']}))
        self.assertEqual(['db-2'], self._names(
            {'host': None, 'project_id': 'fake-project'}))

    def test_name_is_a_regular_expression(self):
        self.assertEqual(['web-2', 'web-1'], self._names(
            {'name': '^web-[0-9]$', 'project_id': 'fake-project'}))

    def test_ip_and_image(self):
        db.fixed_ip_associate(self.ctx, 'net', '10.0.0.12',
                              self.instances[1]['uuid'], 'fa:16:3e:0:0:1',
                              'port-1')
        db.fixed_ip_associate(self.ctx, 'net', 'fd00::12',
                              self.instances[2]['uuid'], 'fa:16:3e:0:0:2',
                              'port-2')
        self.assertEqual(['web-2'], self._names({'ip': r'^10\.0\.0\.1'}))
        self.assertEqual(['db-1'], self._names({'ip6': '12$'}))
        self.assertEqual([], self._names({'image': 'no-such-image'}))

    def test_tags(self):
        self.assertEqual(['db-2', 'db-1'], self._names(
            {'tags': ['db'], 'project_id': 'fake-project'}))
        self.assertEqual(['web-2', 'web-1'], self._names(
            {'not-tags': 'db', 'project_id': 'fake-project'}))

    def test_deleted_filter_and_changes_since(self):
        before = timeutils.utcnow() - datetime.timedelta(seconds=1)
        db.instance_destroy(self.ctx, self.instances[0]['uuid'])
        self.assertEqual(['web-1'], self._names(
            {'deleted': True, 'project_id': 'fake-project'}))
        self.assertNotIn('web-1', self._names({'deleted': False}))
        # changes-since includes the deleted, as upstream.
        self.assertEqual(['web-1'], self._names(
            {'changes-since': before.isoformat(),
             'project_id': 'fake-project'}))

    def test_limit_and_marker_page_through_everything(self):
        filters = {'project_id': 'fake-project'}
        pages, marker = [], None
        while True:
            page = db.instance_get_all_by_filters(
                self.ctx, filters, limit=3, marker=marker)
            if not page:
                break
            pages.append([i['display_name'] for i in page])
            marker = page[-1]['uuid']
        self.assertEqual([['db-2', 'db-1', 'web-2'], ['web-1']], pages)

    def test_sort_keys_and_marker_with_null_values(self):
        keys, dirs = ['host', 'display_name'], ['asc', 'desc']
        everything = self._names({'project_id': 'fake-project'},
                                 sort_keys=keys, sort_dirs=dirs)
        # NULL sorts lowest on every backend.
        self.assertEqual(['db-2', 'web-1', 'db-1', 'web-2'], everything)
        marker = self.instances[3]['uuid']  # db-2, host NULL
        self.assertEqual(everything[1:], self._names(
            {'project_id': 'fake-project'}, sort_keys=keys, sort_dirs=dirs,
            marker=marker))

    def test_unknown_marker_and_sort_key_are_refused(self):
        self.assertRaises(exception.MarkerNotFound,
                          db.instance_get_all_by_filters, self.ctx, {},
                          marker=str(uuid.uuid4()))
        self.assertRaises(exception.InvalidSortKey,
                          db.instance_get_all_by_filters, self.ctx, {},
                          sort_keys=['user_data'])


class FaultTestCase(base.DBTestCase):

    def test_nova_exception_gives_code_and_message(self):
        instance = _instance(self.ctx)
        fault = db.instance_fault_create(
            self.ctx, instance['uuid'],
            exception.InstanceNotFound(instance_id='x'), 'host-a')
        self.assertEqual(404, fault['code'])
        self.assertEqual('Instance x could not be found.', fault['message'])
        self.assertEqual('host-a', fault['host'])

    def test_other_exception_is_500_with_traceback_and_masked_secret(self):
        instance = _instance(self.ctx)
        try:
            raise RuntimeError('boom admin_pass=hunter2')
        except RuntimeError as error:
            fault = db.instance_fault_create(self.ctx, instance['uuid'],
                                             error)
        self.assertEqual(500, fault['code'])
        self.assertEqual('RuntimeError', fault['message'])
        self.assertIn('Traceback', fault['details'])
        self.assertNotIn('hunter2', fault['details'])

    def test_user_data_is_masked(self):
        instance = _instance(self.ctx)
        fault = db.instance_fault_create(
            self.ctx, instance['uuid'],
            RuntimeError('bad request {"user_data": "c2VjcmV0"}'))
        self.assertNotIn('c2VjcmV0', fault['details'])
        self.assertIn('"user_data": "***"', fault['details'])

    def test_latest_fault_per_instance(self):
        first, second = _instance(self.ctx), _instance(self.ctx)
        db.instance_fault_create(self.ctx, first['uuid'], 'old')
        db.instance_fault_create(self.ctx, first['uuid'], 'new')
        faults = db.instance_fault_get_by_instance_uuids(
            self.ctx, [first['uuid'], second['uuid']], latest=True)
        self.assertEqual(['new'], [f['message']
                                   for f in faults[first['uuid']]])
        self.assertEqual([], faults[second['uuid']])


class ActionTestCase(base.DBTestCase):

    def test_start_get_finish(self):
        instance = _instance(self.ctx)
        action = db.action_start(self.ctx, instance['uuid'], 'create')
        self.assertEqual(self.ctx.request_id, action['request_id'])
        self.assertEqual('fake-user', action['user_id'])
        db.action_finish(self.ctx, instance['uuid'], message='Error')
        got = db.action_get_by_request_id(self.ctx, instance['uuid'],
                                          self.ctx.request_id)
        self.assertEqual(action['id'], got['id'])
        self.assertIsNotNone(got['finish_time'])
        self.assertEqual('Error', got['message'])
        self.assertIsNone(db.action_get_by_request_id(
            self.ctx, instance['uuid'], 'req-other'))
        self.assertRaises(exception.InstanceActionNotFound,
                          db.action_finish, self.ctx, instance['uuid'],
                          'req-other')

    def test_actions_newest_first_with_marker(self):
        instance = _instance(self.ctx)
        start = datetime.datetime(2024, 1, 1)
        for index in range(3):
            db.action_start(self.ctx, instance['uuid'], f'a{index}',
                            request_id=f'req-{index}')
            # created_at decides the order; make it distinct.
            db.action_finish(self.ctx, instance['uuid'], f'req-{index}',
                             finish_time=start)
        actions = db.actions_get(self.ctx, instance['uuid'])
        self.assertEqual(['a2', 'a1', 'a0'], [a['action'] for a in actions])
        self.assertEqual(['a1', 'a0'], [a['action'] for a in db.actions_get(
            self.ctx, instance['uuid'], marker='req-2')])
        self.assertEqual(['a2'], [a['action'] for a in db.actions_get(
            self.ctx, instance['uuid'], limit=1)])
        self.assertRaises(exception.MarkerNotFound, db.actions_get,
                          self.ctx, instance['uuid'], marker='req-x')


class ServiceTestCase(base.DBTestCase):

    def test_register_creates_once(self):
        first = db.service_register(self.admin, 'host-a', 'nova-compute',
                                    'compute')
        again = db.service_register(self.admin, 'host-a', 'nova-compute',
                                    'compute')
        self.assertEqual(first['id'], again['id'])
        self.assertEqual(1, len(db.service_get_all(self.admin)))

    def test_duplicate_create_raises(self):
        db.service_create(self.admin, {'host': 'h', 'binary': 'b',
                                       'topic': 't'})
        self.assertRaises(exception.ServiceExists, db.service_create,
                          self.admin, {'host': 'h', 'binary': 'b',
                                       'topic': 't2'})

    def test_heartbeat_counts_in_one_statement(self):
        service = db.service_register(self.admin, 'h', 'nova-compute')
        counter = self.count_statements()
        seen = db.service_heartbeat(self.admin, 'h', 'nova-compute')
        self.assertEqual(1, counter.count)
        got = db.service_get(self.admin, service['id'])
        self.assertEqual(1, got['report_count'])
        self.assertEqual(seen, got['last_seen_up'])
        self.assertRaises(exception.HostBinaryNotFound,
                          db.service_heartbeat, self.admin, 'h', 'nope')

    def test_update_filter_and_destroy(self):
        service = db.service_register(self.admin, 'h', 'nova-compute')
        db.service_update(self.admin, service['id'],
                          {'disabled': True, 'disabled_reason': 'maint'})
        self.assertEqual([service['id']], [
            s['id'] for s in db.service_get_all(self.admin, disabled=True)])
        self.assertEqual([], db.service_get_all(self.admin,
                                                binary='nova-api'))
        db.service_destroy(self.admin, service['id'])
        self.assertRaises(exception.ServiceNotFound, db.service_get,
                          self.admin, service['id'])
        # Soft-deleted: the same host and binary can register again.
        self.assertNotEqual(service['id'], db.service_register(
            self.admin, 'h', 'nova-compute')['id'])


class ComputeNodeTestCase(base.DBTestCase):

    def _report(self, host='host-a', node='node-a', **values):
        capacity = {'vcpus': 4, 'memory_mb': 4096, 'local_gb': 100,
                    'cpu_allocation_ratio': 1.0, 'ram_allocation_ratio': 1.0,
                    'disk_allocation_ratio': 1.0}
        capacity.update(values)
        return db.compute_node_report(self.admin, host, node, capacity)

    def test_report_creates_then_updates_capacity_not_usage(self):
        node = self._report()
        self.assertEqual(0, node['vcpus_used'])
        db.allocation_claim(self.admin, node['id'], 'i1', 2, 1024, 10)
        again = self._report(vcpus=8, vcpus_used=0)
        self.assertEqual(node['id'], again['id'])
        self.assertEqual(8, again['vcpus'])
        self.assertEqual(2, again['vcpus_used'])
        self.assertEqual(node['id'], db.compute_node_get_by_host_and_nodename(
            self.admin, 'host-a', 'node-a')['id'])
        self.assertRaises(exception.ComputeNodeNotFound,
                          db.compute_node_get, self.admin, node['id'] + 100)

    def test_for_scheduling_joins_the_service(self):
        node = self._report(availability_zone='az1')
        self._report(host='host-b', node='node-b')
        service = db.service_register(self.admin, 'host-a', 'nova-compute')
        db.service_update(self.admin, service['id'], {'disabled': True})
        rows = {r['host']: r for r in
                db.compute_nodes_for_scheduling(self.admin)}
        self.assertEqual(node['id'], rows['host-a']['id'])
        self.assertEqual('az1', rows['host-a']['availability_zone'])
        self.assertTrue(rows['host-a']['disabled'])
        # Never heartbeated: the record's own timestamps stand in.
        self.assertIsNotNone(rows['host-a']['last_seen_up'])
        self.assertIsNone(rows['host-b']['last_seen_up'])
        self.assertFalse(rows['host-b']['disabled'])
        # Only what the scheduler reads: every row is decoded at every
        # decision.
        self.assertEqual(
            {'id', 'host', 'hypervisor_hostname', 'availability_zone',
             'vcpus', 'memory_mb', 'local_gb', 'vcpus_used',
             'memory_mb_used', 'local_gb_used', 'cpu_allocation_ratio',
             'ram_allocation_ratio', 'disk_allocation_ratio', 'disabled',
             'forced_down', 'last_seen_up'}, set(rows['host-a']))


class ClaimTestCase(base.DBTestCase):

    def setUp(self):
        super().setUp()
        self.node = db.compute_node_create(self.admin, {
            'host': 'h', 'hypervisor_hostname': 'n', 'vcpus': 4,
            'memory_mb': 2048, 'local_gb': 40, 'cpu_allocation_ratio': 2.0,
            'ram_allocation_ratio': 1.0, 'disk_allocation_ratio': 1.0})

    def _node(self):
        return db.compute_node_get(self.admin, self.node['id'])

    def test_claim_adds_usage_in_two_statements(self):
        counter = self.count_statements()
        self.assertTrue(db.allocation_claim(self.admin, self.node['id'],
                                            'i1', 3, 512, 10))
        self.assertEqual(2, counter.count)
        node = self._node()
        self.assertEqual((3, 512, 10, 1), (
            node['vcpus_used'], node['memory_mb_used'],
            node['local_gb_used'], node['running_vms']))
        self.assertEqual(self.node['id'], db.allocation_get_by_instance(
            self.admin, 'i1')['compute_node_id'])

    def test_claim_honours_allocation_ratio_and_refuses_overcommit(self):
        db.allocation_claim(self.admin, self.node['id'], 'i1', 8, 100, 1)
        error = self.assertRaises(
            exception.ComputeResourcesUnavailable, db.allocation_claim,
            self.admin, self.node['id'], 'i2', 1, 100, 1)
        self.assertIn('vcpus', str(error))
        self.assertEqual(8, self._node()['vcpus_used'])
        self.assertIsNone(db.allocation_get_by_instance(self.admin, 'i2'))

    def test_claim_again_is_a_no_op(self):
        self.assertTrue(db.allocation_claim(self.admin, self.node['id'],
                                            'i1', 1, 2048, 1))
        # Even on a node now full: the instance already holds its share.
        self.assertFalse(db.allocation_claim(self.admin, self.node['id'],
                                             'i1', 1, 2048, 1))
        self.assertEqual(2048, self._node()['memory_mb_used'])

    def test_claim_on_missing_node_raises(self):
        self.assertRaises(exception.ComputeNodeNotFound,
                          db.allocation_claim, self.admin,
                          self.node['id'] + 1, 'i1', 1, 1, 1)

    def test_release_gives_back_and_is_idempotent(self):
        db.allocation_claim(self.admin, self.node['id'], 'i1', 2, 512, 5)
        self.assertTrue(db.allocation_release(self.admin, 'i1'))
        self.assertFalse(db.allocation_release(self.admin, 'i1'))
        node = self._node()
        self.assertEqual((0, 0, 0, 0), (
            node['vcpus_used'], node['memory_mb_used'],
            node['local_gb_used'], node['running_vms']))

    def test_concurrent_claims_never_overcommit(self):
        # 2048 MiB of RAM, 20 claims of 256: exactly 8 can fit.
        def claim(index):
            return db.allocation_claim(context.get_admin_context(),
                                       self.node['id'], f'inst-{index}',
                                       0, 256, 0)

        results, errors = base.run_concurrently(20, claim)
        self.assertEqual(8, len(results))
        self.assertEqual(12, len(errors))
        for error in errors:
            self.assertIsInstance(error,
                                  exception.ComputeResourcesUnavailable)
        node = self._node()
        self.assertEqual(2048, node['memory_mb_used'])
        self.assertEqual(8, node['running_vms'])
        self.assertEqual(8, len(db.allocations_get_by_node(
            self.admin, self.node['id'])))

    def test_concurrent_claims_for_one_instance_count_once(self):
        def claim(index):
            return db.allocation_claim(context.get_admin_context(),
                                       self.node['id'], 'same', 1, 256, 1)

        results, errors = base.run_concurrently(6, claim)
        self.assertEqual([], errors)
        self.assertEqual([True], [r for r in results if r])
        self.assertEqual(256, self._node()['memory_mb_used'])

    def test_concurrent_releases_give_back_once(self):
        db.allocation_claim(self.admin, self.node['id'], 'i1', 2, 512, 5)
        results, errors = base.run_concurrently(
            6, lambda i: db.allocation_release(context.get_admin_context(),
                                               'i1'))
        self.assertEqual([], errors)
        self.assertEqual([True], [r for r in results if r])
        self.assertEqual(0, self._node()['memory_mb_used'])


class FlavorTestCase(base.DBTestCase):

    def _flavor(self, name, flavorid=None, projects=None, **values):
        flavor = {'name': name, 'flavorid': flavorid or name,
                  'memory_mb': 512, 'vcpus': 1, 'root_gb': 1}
        flavor.update(values)
        return db.flavor_create(self.admin, flavor, projects=projects)

    def test_create_and_get_three_ways(self):
        flavor = self._flavor('m1.tiny', '1',
                              extra_specs={'hw:cpu_policy': 'shared'})
        self.assertEqual(flavor, db.flavor_get(self.admin, flavor['id']))
        self.assertEqual(flavor, db.flavor_get_by_flavor_id(self.admin, 1))
        self.assertEqual(flavor,
                         db.flavor_get_by_name(self.admin, 'm1.tiny'))
        self.assertTrue(flavor['is_public'])
        self.assertRaises(exception.FlavorNotFound,
                          db.flavor_get_by_flavor_id, self.admin, 'nope')

    def test_duplicates_name_which_part(self):
        self._flavor('a', '1')
        self.assertRaises(exception.FlavorExists, self._flavor, 'a', '2')
        self.assertRaises(exception.FlavorIdExists, self._flavor, 'b', '1')

    def test_private_flavors_and_access(self):
        self._flavor('public')
        private = self._flavor('private', is_public=False, projects=['p1'])
        self.assertRaises(exception.FlavorAccessExists,
                          db.flavor_access_add, self.admin,
                          private['flavorid'], 'p1')
        names = [f['name'] for f in db.flavor_get_all(
            self.admin, {'project_id': 'p1'})]
        self.assertEqual(['private', 'public'], names)
        self.assertEqual(['public'], [f['name'] for f in db.flavor_get_all(
            self.admin, {'project_id': 'p2'})])
        self.assertEqual(['p1'], [a['project_id'] for a in
                                  db.flavor_access_get_by_flavor_id(
                                      self.admin, private['flavorid'])])
        db.flavor_access_remove(self.admin, private['flavorid'], 'p1')
        self.assertRaises(exception.FlavorAccessNotFound,
                          db.flavor_access_remove, self.admin,
                          private['flavorid'], 'p1')

    def test_filters_and_pagination(self):
        for index in range(5):
            self._flavor(f'f{index}', str(index), memory_mb=256 * index)
        self.assertEqual(['2', '3', '4'], [f['flavorid'] for f in
                                           db.flavor_get_all(
                                               self.admin,
                                               {'min_memory_mb': 512})])
        self.assertEqual(['3', '4'], [f['flavorid'] for f in
                                      db.flavor_get_all(self.admin, limit=2,
                                                        marker='2')])

    def test_extra_specs(self):
        flavor = self._flavor('f', extra_specs={'a': '1'})
        self.assertEqual({'a': '1', 'b': '2'},
                         db.flavor_extra_specs_update_or_create(
                             self.admin, flavor['flavorid'], {'b': 2}))
        db.flavor_extra_specs_delete(self.admin, flavor['flavorid'], 'a')
        self.assertEqual({'b': '2'}, db.flavor_extra_specs_get(
            self.admin, flavor['flavorid']))
        self.assertRaises(exception.FlavorExtraSpecsNotFound,
                          db.flavor_extra_specs_delete, self.admin,
                          flavor['flavorid'], 'a')

    def test_update_and_destroy(self):
        flavor = self._flavor('f')
        db.flavor_access_add(self.admin, flavor['flavorid'], 'p1')
        updated = db.flavor_update(self.admin, flavor['flavorid'],
                                   {'description': 'small'})
        self.assertEqual('small', updated['description'])
        self.assertEqual(updated, db.flavor_get(self.admin, flavor['id']))
        db.flavor_destroy(self.admin, flavor['flavorid'])
        self.assertRaises(exception.FlavorNotFound, db.flavor_destroy,
                          self.admin, flavor['flavorid'])


class KeyPairTestCase(base.DBTestCase):

    def _keypair(self, name, user_id='u1'):
        return db.key_pair_create(self.ctx, {
            'name': name, 'user_id': user_id, 'fingerprint': 'fp',
            'public_key': 'ssh-rsa AAAA', 'type': 'ssh'})

    def test_crud_and_reuse_of_name_after_delete(self):
        keypair = self._keypair('k')
        self.assertEqual(keypair, db.key_pair_get(self.ctx, 'u1', 'k'))
        self.assertRaises(exception.KeyPairExists, self._keypair, 'k')
        self._keypair('k', user_id='u2')
        db.key_pair_destroy(self.ctx, 'u1', 'k')
        self.assertRaises(exception.KeypairNotFound, db.key_pair_get,
                          self.ctx, 'u1', 'k')
        self.assertRaises(exception.KeypairNotFound, db.key_pair_destroy,
                          self.ctx, 'u1', 'k')
        self._keypair('k')
        self.assertEqual(1, db.key_pair_count_by_user(self.ctx, 'u1'))

    def test_list_by_name_with_marker(self):
        for name in ('c', 'a', 'b'):
            self._keypair(name)
        self.assertEqual(['a', 'b', 'c'], [
            k['name'] for k in db.key_pair_get_all_by_user(self.ctx, 'u1')])
        self.assertEqual(['b'], [k['name'] for k in
                                 db.key_pair_get_all_by_user(
                                     self.ctx, 'u1', limit=1, marker='a')])


class BlockDeviceMappingTestCase(base.DBTestCase):

    def test_crud(self):
        instance = _instance(self.ctx)
        bdm = db.block_device_mapping_create(self.ctx, {
            'instance_uuid': instance['uuid'], 'source_type': 'volume',
            'destination_type': 'volume', 'volume_id': 'vol-1',
            'device_name': '/dev/vdb', 'delete_on_termination': True})
        self.assertIsNotNone(bdm['uuid'])
        db.block_device_mapping_update(self.ctx, bdm['id'], {
            'connection_info': {'driver_volume_type': 'local'}})
        got = db.block_device_mapping_get_by_volume_id(
            self.ctx, 'vol-1', instance['uuid'])
        self.assertEqual({'driver_volume_type': 'local'},
                         got['connection_info'])
        destroy = db.block_device_mapping_destroy_by_instance_and_volume
        self.assertEqual(1, destroy(self.ctx, instance['uuid'], 'vol-1'))
        self.assertEqual([], db.block_device_mapping_get_all_by_instance(
            self.ctx, instance['uuid']))
        self.assertRaises(exception.BDMNotFound,
                          db.block_device_mapping_destroy, self.ctx,
                          bdm['id'])


class FixedIPTestCase(base.DBTestCase):

    def test_one_address_one_port(self):
        db.fixed_ip_associate(self.ctx, 'net', '10.0.0.2', 'i1',
                              'fa:16:3e:00:00:01', 'port-1')
        self.assertRaises(exception.FixedIpAlreadyInUse,
                          db.fixed_ip_associate, self.ctx, 'net',
                          '10.0.0.2', 'i2', 'fa:16:3e:00:00:02', 'port-2')
        # Another network may reuse the address.
        db.fixed_ip_associate(self.ctx, 'other', '10.0.0.2', 'i2',
                              'fa:16:3e:00:00:02', 'port-2')
        self.assertEqual({'10.0.0.2'},
                         db.fixed_ip_get_addresses(self.ctx, 'net'))
        self.assertEqual('port-1', db.fixed_ip_get_by_instance(
            self.ctx, 'i1')[0]['port_id'])
        self.assertTrue(db.fixed_ip_disassociate(self.ctx, 'port-1'))
        self.assertFalse(db.fixed_ip_disassociate(self.ctx, 'port-1'))
        self.assertEqual(1, db.fixed_ips_disassociate_by_instance(
            self.ctx, 'i2'))


class VolumeRecordTestCase(base.DBTestCase):

    def test_compare_and_swap_status(self):
        volume = db.volume_create(self.ctx, {'size': 1,
                                             'status': 'available'})
        db.volume_update(self.ctx, volume['id'], {'status': 'reserved'},
                         expected_status='available')
        error = self.assertRaises(
            exception.UnexpectedVolumeStateError, db.volume_update,
            self.ctx, volume['id'], {'status': 'reserved'},
            expected_status='available')
        self.assertEqual('reserved', error.kwargs['actual'])
        self.assertRaises(exception.UnexpectedVolumeStateError,
                          db.volume_destroy, self.ctx, volume['id'],
                          expected_status='available')
        db.volume_destroy(self.ctx, volume['id'], expected_status='reserved')
        self.assertRaises(exception.VolumeNotFound, db.volume_get, self.ctx,
                          volume['id'])
        self.assertRaises(exception.VolumeNotFound, db.volume_update,
                          self.ctx, volume['id'], {'status': 'x'})


class ImageRecordTestCase(base.DBTestCase):

    def _image(self, name, owner='fake-project', visibility='private',
               **values):
        values = dict({'status': 'active'}, **values)
        return db.image_create(self.ctx, dict(
            name=name, owner=owner, visibility=visibility, **values))

    def test_visibility(self):
        mine = self._image('mine')
        public = self._image('public', owner='p2', visibility='public')
        theirs = self._image('theirs', owner='p2')
        self.assertEqual(mine['id'], db.image_get(self.ctx, mine['id'])['id'])
        db.image_get(self.ctx, public['id'])
        self.assertRaises(exception.ImageNotFound, db.image_get, self.ctx,
                          theirs['id'])
        db.image_get(self.admin, theirs['id'])
        self.assertEqual(['mine', 'public'], sorted(
            i['name'] for i in db.image_get_all(self.ctx)))

    def test_filters_sort_and_marker(self):
        images = [self._image(name) for name in ('b', 'a', 'c')]
        self.assertEqual(['a', 'b'], [i['name'] for i in db.image_get_all(
            self.ctx, {'id': f'in:{images[0]["id"]},{images[1]["id"]}'},
            sort_key='name', sort_dir='asc')])
        self.assertEqual(['b', 'c'], [i['name'] for i in db.image_get_all(
            self.ctx, sort_key='name', sort_dir='asc',
            marker=images[1]['id'])])
        self.assertEqual(['c'], [i['name'] for i in db.image_get_all(
            self.ctx, {'name': 'c'})])

    def test_update_cas_and_protected_destroy(self):
        image = self._image('x', status='saving', protected=True)
        self.assertRaises(exception.InvalidImageState, db.image_update,
                          self.ctx, image['id'], {'status': 'active'},
                          expected_status='queued')
        db.image_update(self.ctx, image['id'], {'status': 'active'},
                        expected_status='saving')
        self.assertRaises(exception.ImageProtected, db.image_destroy,
                          self.ctx, image['id'])
        db.image_update(self.ctx, image['id'], {'protected': False})
        db.image_destroy(self.ctx, image['id'])
        self.assertRaises(exception.ImageNotFound, db.image_get, self.ctx,
                          image['id'])
        self.assertEqual('deleted', db.image_get(
            self.ctx, image['id'], read_deleted=True)['status'])
