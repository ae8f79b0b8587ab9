"""Deleting a server that has no host, through the REST API.

A SHELVED_OFFLOADED server, or one whose scheduling failed, has no
nova-compute to delete it: nova-conductor's conductor.local_delete_instance
flow frees what it still holds - its fixed IP, its shelve snapshot, its
volumes and their mappings - deletes it, and finishes the delete action.
Everything runs in process (paste pipeline with noauth2, the real compute
API, conductor and compute services) and is checked as a user or an
operator sees it.
"""

from __future__ import annotations

import nova.conf
from nova import exception
from nova.compute import vm_states
from nova.image import api as image_api
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional.api import base as api_base

CONF = nova.conf.CONF
USER = api_base.USER
FLOW = 'conductor.local_delete_instance'
STAGES = ['notify_usage_start', 'deallocate_network', 'delete_shelve_image',
          'detach_volumes', 'release_claims', 'destroy_instance',
          'notify_usage_end']


class TestDeleteWithoutHost(api_base.APITestCase):

    def setUp(self):
        super().setUp()
        self.ctx = self.cloud.user_context()
        services = self.cloud.manager('compute1').services
        self.volumes = services.volume
        self.network = services.network

    def volume(self, volume_id):
        return self.volumes.get(self.cloud.ctx, volume_id)

    def wait_volume(self, volume_id, status):
        func_fixtures.wait_for(
            lambda: self.volume(volume_id)['status'] == status,
            what=f'volume {volume_id} to be {status}')

    def delete_and_wait(self, uuid):
        """DELETE /servers/{id}; the finished delete action."""
        code, data = self.call('DELETE', f'/servers/{uuid}')
        self.assertEqual(204, code, data)
        action = self.cloud.wait_for_action(uuid, 'delete')
        self.assertIsNone(action['message'])
        return action

    def assert_gone(self, uuid, action):
        """Gone for the user; deleted for the operator; the flow's
        stages are the delete action's events."""
        _, data = self.call('GET', '/servers')
        self.assertNotIn(uuid, [s['id'] for s in data['servers']])
        _, data = self.call('GET', '/servers/detail')
        self.assertNotIn(uuid, [s['id'] for s in data['servers']])
        self.assertEqual(404, self.call('GET', f'/servers/{uuid}')[0])
        deleted = self.cloud.instance(uuid, read_deleted='yes')
        self.assertEqual((vm_states.DELETED, None),
                         (deleted['vm_state'], deleted['task_state']))
        self.assertEqual([], self.cloud.db
                         .block_device_mapping_get_all_by_instance(
                             self.cloud.ctx, uuid))
        self.assertIsNone(self.cloud.db.allocation_get_by_instance(
            self.cloud.ctx, uuid))
        events = sorted(self.cloud.db.action_events_get(
            self.cloud.ctx, action['id']), key=lambda e: e['seq'])
        self.assertEqual([f'{FLOW}.{s}' for s in STAGES],
                         [e['event'] for e in events])
        self.assertEqual({'Success'}, {e['result'] for e in events})
        (run,) = [r for r in self.cloud.db.flow_runs_get_by_instance(
            self.cloud.ctx, uuid) if r['flow'] == FLOW]
        self.assertEqual(('success', action['id']),
                         (run['status'], run['action_id']))

    def test_shelved_offloaded_server_frees_ip_snapshot_and_volume(self):
        uuid = self.cloud.wait_for_state(
            self.cloud.boot(self.ctx)['uuid'], vm_states.ACTIVE)['uuid']
        volume = self.volumes.create(self.ctx, 1, 'data')
        code, data = self.call(
            'POST', f'/servers/{uuid}/os-volume_attachments',
            {'volumeAttachment': {'volumeId': volume['id']}})
        self.assertEqual(200, code, data)
        self.wait_volume(volume['id'], 'in-use')
        _, data = self.call('GET', f'/servers/{uuid}/os-interface')
        (port,) = data['interfaceAttachments']
        address = port['fixed_ips'][0]['ip_address']

        code, data = self.call('POST', f'/servers/{uuid}/action',
                               {'shelve': None})
        self.assertEqual(202, code, data)
        shelved = self.cloud.wait_for_state(uuid,
                                            vm_states.SHELVED_OFFLOADED)
        self.assertIsNone(shelved['host'])
        image_id = shelved['system_metadata']['shelved_image_id']
        # Offloaded, the server still holds its address and its volume.
        self.assertEqual(image_api.ACTIVE, image_api.API().get(
            self.cloud.ctx, image_id)['status'])
        self.assertEqual('in-use', self.volume(volume['id'])['status'])
        self.assertIn(address, self.cloud.db.fixed_ip_get_addresses(
            self.cloud.ctx, CONF.network.flat_network_name))

        action = self.delete_and_wait(uuid)
        self.assert_gone(uuid, action)
        # The port and its fixed IP are gone from the network service.
        self.assertEqual([], self.network.get_instance_nw_info(
            self.cloud.ctx, uuid))
        self.assertRaises(exception.PortNotFound,
                          self.cloud.db.fixed_ip_get_by_port,
                          self.cloud.ctx, port['port_id'])
        self.assertNotIn(address, self.cloud.db.fixed_ip_get_addresses(
            self.cloud.ctx, CONF.network.flat_network_name))
        # The shelve snapshot is deleted; the volume is free.
        self.assertRaises(exception.ImageNotFound, image_api.API().get,
                          self.cloud.ctx, image_id)
        volume = self.volume(volume['id'])
        self.assertEqual(('available', 'detached', None),
                         (volume['status'], volume['attach_status'],
                          volume['instance_uuid']))

    def test_server_that_failed_scheduling_is_deleted_the_same_way(self):
        volume = self.volumes.create(self.ctx, 1, 'data')
        instance = self.cloud.boot(
            self.ctx, availability_zone='nowhere',
            block_device_mapping=[{
                'source_type': 'volume', 'destination_type': 'volume',
                'volume_id': volume['id'], 'device_name': '/dev/vdb',
                'boot_index': None, 'delete_on_termination': False}])
        uuid = instance['uuid']
        errored = self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertIsNone(errored['host'])
        # nova-api reserved the volume for the server; no host took it,
        # so the conductor's failure handler gave it back.
        self.cloud.wait_for_action(uuid, 'create')
        self.assertEqual(('available', None),
                         (self.volume(volume['id'])['status'],
                          self.volume(volume['id'])['instance_uuid']))
        # A delete racing the conductor's handler finds it reserved:
        # the delete frees it.
        self.volumes.reserve(self.cloud.ctx, volume['id'], uuid)
        fault = self.cloud.db.instance_fault_get_by_instance_uuids(
            self.cloud.ctx, [uuid])[uuid][0]
        self.assertIn('No valid host', fault['message'])
        _, data = self.call('GET', '/servers')
        self.assertIn(uuid, [s['id'] for s in data['servers']])

        action = self.delete_and_wait(uuid)
        self.assert_gone(uuid, action)
        self.assertEqual('available', self.volume(volume['id'])['status'])
        self.assertEqual([], self.network.get_instance_nw_info(
            self.cloud.ctx, uuid))
