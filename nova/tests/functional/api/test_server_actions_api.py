"""The server actions through the REST API, on a whole cloud in-process.

The paste pipeline (noauth2) in front of the real compute API, conductor
and compute services: what a client gets back for the actions that have
flows - 202s, the 409 ``conflictingRequest`` of an invalid transition or
a locked server, and os-volume_attachments / os-interface end to end.
"""

from __future__ import annotations

import datetime

import fixtures
import oslo_messaging as messaging
from oslo_utils import timeutils

import nova.conf
from nova.compute import rpcapi, vm_states
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional.api import base as api_base

CONF = nova.conf.CONF
USER = api_base.USER
ADMIN = api_base.ADMIN


class TestServerActionsAPI(api_base.APITestCase):

    def setUp(self):
        super().setUp()
        self.server = self.cloud.wait_for_state(
            self.cloud.boot(self.cloud.user_context())['uuid'],
            vm_states.ACTIVE)
        self.uuid = self.server['uuid']

    def action(self, body, token=USER, version='2.79'):
        return self.call('POST', f'/servers/{self.uuid}/action', body,
                         token, version)

    def wait_status(self, status):
        def reached():
            _, data = self.call('GET', f'/servers/{self.uuid}')
            server = data['server']
            return server if server['status'] == status and \
                server['OS-EXT-STS:task_state'] is None else None
        return func_fixtures.wait_for(reached, what=f'status {status}')

    def assert_conflict(self, result, text):
        code, data = result
        self.assertEqual(409, code, data)
        self.assertEqual(['conflictingRequest'], list(data))
        self.assertIn(text, data['conflictingRequest']['message'])

    def test_pause_unpause_and_invalid_transitions_are_409(self):
        self.assert_conflict(self.action({'unpause': None}),
                             f"Cannot 'unpause' instance {self.uuid} while "
                             f"it is in vm_state active")
        self.assert_conflict(self.action({'os-start': None}),
                             "Cannot 'start' instance")
        self.assertEqual(202, self.action({'pause': None})[0])
        self.wait_status('PAUSED')
        self.assert_conflict(self.action({'suspend': None}),
                             'vm_state paused')
        self.assertEqual(202, self.action({'unpause': None})[0])
        self.wait_status('ACTIVE')
        self.assertEqual(202, self.action({'suspend': None})[0])
        self.wait_status('SUSPENDED')
        self.assertEqual(202, self.action({'resume': None})[0])
        self.wait_status('ACTIVE')
        # The stages are the action's events (openstack server event show).
        code, data = self.call('GET',
                               f'/servers/{self.uuid}/os-instance-actions')
        actions = [a['action'] for a in data['instanceActions']]
        self.assertEqual(['resume', 'suspend', 'unpause', 'pause', 'create'],
                         actions)
        request_id = data['instanceActions'][3]['request_id']
        code, data = self.call(
            'GET', f'/servers/{self.uuid}/os-instance-actions/{request_id}')
        self.assertIn('compute.pause_instance.driver_pause',
                      [e['event'] for e in data['instanceAction']['events']])

    def test_locked_server_refuses_its_owner_with_409(self):
        self.assertEqual(202, self.action(
            {'lock': {'locked_reason': 'maintenance'}})[0])
        _, data = self.call('GET', f'/servers/{self.uuid}')
        self.assertEqual((True, 'maintenance'),
                         (data['server']['locked'],
                          data['server']['locked_reason']))
        for body in ({'pause': None}, {'os-stop': None},
                     {'reboot': {'type': 'HARD'}}, {'shelve': None},
                     {'rebuild': {'imageRef': self.cloud.image['id']}}):
            self.assert_conflict(self.action(body),
                                 f'Instance {self.uuid} is locked')
        code, _ = self.call('DELETE', f'/servers/{self.uuid}')
        self.assertEqual(409, code)
        # An admin is not held back by the lock.
        self.assertEqual(202, self.action({'pause': None}, ADMIN)[0])
        self.wait_status('PAUSED')
        self.assertEqual(202, self.action({'unlock': None})[0])
        _, data = self.call('GET', f'/servers/{self.uuid}')
        self.assertEqual((False, None), (data['server']['locked'],
                                         data['server']['locked_reason']))
        # An admin's lock is the admin's to lift.
        self.assertEqual(202, self.action({'lock': None}, ADMIN)[0])
        code, data = self.action({'unlock': None})
        self.assertEqual(403, code, data)
        actions = [a['action'] for a in self.cloud.db.actions_get(
            self.cloud.ctx, self.uuid)]
        self.assertEqual(['lock', 'unlock', 'pause', 'lock', 'create'],
                         actions)

    def test_create_image_rescue_console_and_shelve(self):
        code, data = self.action({'createImage': {
            'name': 'snap', 'metadata': {'purpose': 'test'}}},
            version='2.45')
        self.assertEqual(202, code, data)
        image_id = data['image_id']
        # The image proxy (before 2.36), as openstackclient reads it.
        func_fixtures.wait_for(lambda: self.call(
            'GET', f'/images/{image_id}', version='2.1')[1]['image'][
            'status'] == 'ACTIVE', what='the snapshot to be active')
        _, image = self.call('GET', f'/images/{image_id}', version='2.1')
        self.wait_status('ACTIVE')
        self.assertEqual('test', image['image']['metadata']['purpose'])

        code, data = self.action({'rescue': {'adminPass': 'pw'}})
        self.assertEqual((200, {'adminPass': 'pw'}), (code, data))
        self.wait_status('RESCUE')
        self.assertEqual(202, self.action({'unrescue': None})[0])
        self.wait_status('ACTIVE')

        code, data = self.action({'os-getConsoleOutput': {'length': 1}})
        self.assertEqual(200, code, data)
        self.assertEqual(1, len(data['output'].splitlines()))
        self.assertIn('unrescue', data['output'])

        self.assertEqual(202, self.action({'shelve': None})[0])
        self.wait_status('SHELVED_OFFLOADED')
        self.assert_conflict(self.action({'os-getConsoleOutput': {}}),
                             'is not ready')
        code, data = self.action({'shelveOffload': None})
        self.assertEqual(403, code, data)
        self.assertEqual(202, self.action({'unshelve': None})[0])
        self.wait_status('ACTIVE')

    def test_volume_attachments(self):
        volume_api = self.cloud.manager('compute1').services.volume
        volume = volume_api.create(self.cloud.user_context(), 1, 'data')
        path = f'/servers/{self.uuid}/os-volume_attachments'
        code, data = self.call('POST', path, {'volumeAttachment': {
            'volumeId': volume['id'], 'tag': 'db'}})
        self.assertEqual(200, code, data)
        self.assertEqual({'id': volume['id'], 'volumeId': volume['id'],
                          'serverId': self.uuid, 'device': '/dev/vdb',
                          'tag': 'db', 'delete_on_termination': False},
                         data['volumeAttachment'])
        func_fixtures.wait_for(lambda: volume_api.get(
            self.cloud.ctx, volume['id'])['status'] == 'in-use',
            what='the volume to be in-use')

        code, data = self.call('GET', path)
        self.assertEqual([volume['id']],
                         [a['volumeId'] for a in data['volumeAttachments']])
        code, data = self.call('GET', path, version='2.89')
        (attachment,) = data['volumeAttachments']
        self.assertNotIn('id', attachment)
        self.assertIn('bdm_uuid', attachment)
        code, data = self.call('GET', f'{path}/{volume["id"]}')
        self.assertEqual(200, code, data)

        # In use: 400; unknown: 404; device taken: 409.
        self.assertEqual(400, self.call('POST', path, {'volumeAttachment': {
            'volumeId': volume['id']}})[0])
        self.assertEqual(404, self.call('POST', path, {'volumeAttachment': {
            'volumeId': '9d3d33a4-0000-4000-8000-000000000000'}})[0])
        other = volume_api.create(self.cloud.user_context(), 1)
        self.assertEqual(409, self.call('POST', path, {'volumeAttachment': {
            'volumeId': other['id'], 'device': '/dev/vdb'}})[0])
        self.assertEqual(400, self.call('POST', path, {'volumeAttachment': {
            'volumeId': other['id'], 'bogus': 1}})[0])

        self.assertEqual(202, self.call('DELETE',
                                        f'{path}/{volume["id"]}')[0])
        # The detach flow frees the volume before it destroys the block
        # device mapping (as upstream does), so wait for the mapping.
        func_fixtures.wait_for(
            lambda: self.call('GET', path)[1] == {'volumeAttachments': []},
            what='the attachment to be gone')
        self.assertEqual('available', volume_api.get(
            self.cloud.ctx, volume['id'])['status'])
        self.assertEqual(404, self.call('DELETE',
                                        f'{path}/{volume["id"]}')[0])

    def test_server_shows_its_attached_volumes(self):
        """os-extended-volumes:volumes_attached in GET /servers/{id} and
        /servers/detail: the IDs, and delete_on_termination from 2.3."""
        key = 'os-extended-volumes:volumes_attached'

        def shown(version, path=f'/servers/{self.uuid}'):
            code, data = self.call('GET', path, version=version)
            self.assertEqual(200, code, data)
            if 'servers' in data:
                (server,) = [s for s in data['servers']
                             if s['id'] == self.uuid]
                return server[key]
            return data['server'][key]

        self.assertEqual([], shown('2.1'))
        volume_api = self.cloud.manager('compute1').services.volume
        volume = volume_api.create(self.cloud.user_context(), 1, 'data')
        path = f'/servers/{self.uuid}/os-volume_attachments'
        code, data = self.call('POST', path, {'volumeAttachment': {
            'volumeId': volume['id'], 'delete_on_termination': True}})
        self.assertEqual(200, code, data)
        func_fixtures.wait_for(lambda: volume_api.get(
            self.cloud.ctx, volume['id'])['status'] == 'in-use',
            what='the volume to be in-use')

        self.assertEqual([{'id': volume['id']}], shown('2.1'))
        self.assertEqual([{'id': volume['id']}],
                         shown('2.1', '/servers/detail'))
        attached = [{'id': volume['id'], 'delete_on_termination': True}]
        self.assertEqual(attached, shown('2.3'))
        self.assertEqual(attached, shown('2.79', '/servers/detail'))
        # The update response of 2.75+ is the full view too.
        code, data = self.call('PUT', f'/servers/{self.uuid}',
                               {'server': {'name': 'renamed'}})
        self.assertEqual(200, code, data)
        self.assertEqual(attached, data['server'][key])
        # Another project's server: its volumes are not in my list.
        code, data = self.call('GET', '/servers/detail', token='other:other')
        self.assertEqual((200, []), (code, data['servers']))

        self.assertEqual(202, self.call('DELETE',
                                        f'{path}/{volume["id"]}')[0])
        func_fixtures.wait_for(lambda: shown('2.1') == [],
                               what='the volume to leave the server view')
        self.assertEqual([], shown('2.3', '/servers/detail'))

    def _compute_heartbeat(self, seconds_ago):
        """Make compute1's last heartbeat ``seconds_ago`` old."""
        db = self.cloud.db
        service = db.service_get_by_host_and_binary(
            self.cloud.ctx, 'compute1', 'nova-compute')
        db.service_update(self.cloud.ctx, service['id'], {
            'last_seen_up': timeutils.utcnow() - datetime.timedelta(
                seconds=seconds_ago)})

    def _spy_reserve(self, **kwargs):
        """The compute RPC API's reserve_block_device_name, watched."""
        real = rpcapi.ComputeAPI.reserve_block_device_name
        return self.useFixture(fixtures.MockPatchObject(
            rpcapi.ComputeAPI, 'reserve_block_device_name', autospec=True,
            side_effect=kwargs.get('side_effect', real))).mock

    def _actions(self):
        _, data = self.call('GET', f'/servers/{self.uuid}/os-instance-actions')
        return [(a['action'], a['message']) for a in data['instanceActions']]

    def test_attach_while_the_compute_service_is_down_is_409_at_once(self):
        volume_api = self.cloud.manager('compute1').services.volume
        volume = volume_api.create(self.cloud.user_context(), 1)
        path = f'/servers/{self.uuid}/os-volume_attachments'
        body = {'volumeAttachment': {'volumeId': volume['id']}}
        reserve = self._spy_reserve()
        self._compute_heartbeat(CONF.service_down_time + 60)

        # Upstream's error; the host is named to admins only.
        self.assert_conflict(self.call('POST', path, body),
                             'Service is unavailable at this time.')
        self.assert_conflict(self.call('POST', path, body, token=ADMIN),
                             'Compute service of compute1 is unavailable '
                             'at this time.')
        # Refused before the RPC call that would wait for the RPC timeout,
        # and before anything was recorded or reserved.
        reserve.assert_not_called()
        self.assertEqual('available', volume_api.get(
            self.cloud.ctx, volume['id'])['status'])
        self.assertEqual({'volumeAttachments': []}, self.call('GET', path)[1])
        self.assertNotIn('attach_volume', [a for a, _ in self._actions()])

        # Up again (a heartbeat): the same request attaches the volume.
        self.cloud.db.service_heartbeat(self.cloud.ctx, 'compute1',
                                        'nova-compute')
        code, data = self.call('POST', path, body)
        self.assertEqual(200, code, data)
        self.assertEqual(1, reserve.call_count)

    def test_attach_when_the_compute_service_does_not_answer_is_409(self):
        volume_api = self.cloud.manager('compute1').services.volume
        volume = volume_api.create(self.cloud.user_context(), 1)
        path = f'/servers/{self.uuid}/os-volume_attachments'
        body = {'volumeAttachment': {'volumeId': volume['id']}}
        # Up by its heartbeat, but the call times out (oslo.messaging's
        # MessagingTimeout after rpc_response_timeout).
        reserve = self._spy_reserve(side_effect=messaging.MessagingTimeout(
            'Timed out waiting for a reply'))
        self.assert_conflict(self.call('POST', path, body),
                             'Service is unavailable at this time.')
        self.assert_conflict(self.call('POST', path, body, token=ADMIN),
                             'Compute service of compute1 is unavailable '
                             'at this time.')
        self.assertEqual(2, reserve.call_count)
        self.assertEqual('available', volume_api.get(
            self.cloud.ctx, volume['id'])['status'])
        self.assertEqual([('attach_volume', 'Error')] * 2,
                         [a for a in self._actions()
                          if a[0] == 'attach_volume'])

    def test_interfaces(self):
        path = f'/servers/{self.uuid}/os-interface'
        code, data = self.call('GET', path)
        self.assertEqual(200, code, data)
        (boot_port,) = data['interfaceAttachments']
        self.assertEqual('ACTIVE', boot_port['port_state'])
        net_id = boot_port['net_id']

        code, data = self.call('POST', path, {'interfaceAttachment': {
            'net_id': net_id}})
        self.assertEqual(200, code, data)
        new = data['interfaceAttachment']
        self.assertEqual(net_id, new['net_id'])
        self.assertEqual(1, len(new['fixed_ips']))
        code, data = self.call('GET', f'{path}/{new["port_id"]}')
        self.assertEqual((200, new), (code, data['interfaceAttachment']))

        used = boot_port['fixed_ips'][0]['ip_address']
        self.assertEqual(400, self.call('POST', path, {'interfaceAttachment': {
            'fixed_ips': [{'ip_address': used}]}})[0])
        self.assertEqual(404, self.call('POST', path, {'interfaceAttachment': {
            'net_id': '9d3d33a4-0000-4000-8000-000000000000'}})[0])

        self.assertEqual(202, self.call('DELETE',
                                        f'{path}/{new["port_id"]}')[0])
        func_fixtures.wait_for(
            lambda: len(self.call('GET', path)[1][
                'interfaceAttachments']) == 1, what='the port to go')
        self.assertEqual(404, self.call('GET', f'{path}/{new["port_id"]}')[0])
        self.assertEqual(404, self.call('DELETE',
                                        f'{path}/{new["port_id"]}')[0])
