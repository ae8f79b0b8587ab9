"""os-volume_attachments and os-interface: shapes by microversion,
validation, policy; and the 409 of a refused server action."""

from nova import exception
from nova.tests.unit.api import fakes

VOLUME = 'a1b2c3d4-0000-4000-8000-00000000000a'


class TestVolumeAttachments(fakes.APITestCase):

    def setUp(self):
        super().setUp()
        self.server = self.compute.add_instance()
        self.uuid = self.server['uuid']
        self.path = f'/servers/{self.uuid}/os-volume_attachments'
        self.bdm = {'volume_id': VOLUME, 'instance_uuid': self.uuid,
                    'device_name': '/dev/vdb', 'tag': 't',
                    'delete_on_termination': True,
                    'uuid': 'b0000000-0000-4000-8000-000000000001',
                    'attachment_id': None}
        self.compute.get_volume_attachments = lambda ctx, inst: [self.bdm]
        self.compute.attach_volume = lambda ctx, inst, vol, **kw: dict(
            self.bdm, volume_id=vol, tag=kw.get('tag'),
            delete_on_termination=kw.get('delete_on_termination'))

    def test_views_by_microversion(self):
        _, data, _ = self.call('GET', self.path, version='2.1')
        self.assertEqual([{'id': VOLUME, 'volumeId': VOLUME,
                           'serverId': self.uuid, 'device': '/dev/vdb'}],
                         data['volumeAttachments'])
        _, data, _ = self.call('GET', f'{self.path}/{VOLUME}',
                               version='2.79')
        self.assertEqual({'id': VOLUME, 'volumeId': VOLUME,
                          'serverId': self.uuid, 'device': '/dev/vdb',
                          'tag': 't', 'delete_on_termination': True},
                         data['volumeAttachment'])
        _, data, _ = self.call('GET', f'{self.path}/{VOLUME}',
                               version='2.89')
        self.assertEqual({'volumeId', 'serverId', 'device', 'tag',
                          'delete_on_termination', 'attachment_id',
                          'bdm_uuid'}, set(data['volumeAttachment']))

    def test_create_validates_by_microversion(self):
        body = {'volumeAttachment': {'volumeId': VOLUME, 'tag': 'x'}}
        self.assertFault(400, 'badRequest',
                         self.call('POST', self.path, body, version='2.48'))
        code, data, _ = self.call('POST', self.path, body, version='2.49')
        self.assertEqual(200, code, data)
        self.assertEqual(VOLUME, data['volumeAttachment']['id'])
        body = {'volumeAttachment': {'volumeId': VOLUME,
                                     'delete_on_termination': True}}
        self.assertFault(400, 'badRequest',
                         self.call('POST', self.path, body, version='2.78'))
        code, data, _ = self.call('POST', self.path, body, version='2.79')
        self.assertTrue(data['volumeAttachment']['delete_on_termination'])
        for bad in ({'volumeId': 'not-a-uuid'}, {'device': '/dev/vdb'},
                    {'volumeId': VOLUME, 'device': 'vdb'}):
            self.assertFault(400, 'badRequest', self.call(
                'POST', self.path, {'volumeAttachment': bad}))

    def test_unknown_attachment_is_404_and_other_projects_see_nothing(self):
        self.assertFault(404, 'itemNotFound', self.call(
            'GET', f'{self.path}/b0000000-0000-4000-8000-0000000000ff'))
        self.assertFault(404, 'itemNotFound', self.call(
            'DELETE', f'{self.path}/b0000000-0000-4000-8000-0000000000ff'))
        self.assertFault(404, 'itemNotFound', self.call(
            'GET', self.path, token='u2:p2'))

    def test_delete_is_202(self):
        code, _, _ = self.call('DELETE', f'{self.path}/{VOLUME}')
        self.assertEqual(202, code)
        self.assertEqual(('detach_volume', (self.uuid, VOLUME), {}),
                         self.compute.calls[-1])


class TestInterfaces(fakes.APITestCase):

    VIF = {'id': 'p0000000-0000-4000-8000-000000000001',
           'address': 'fa:16:3e:00:00:01', 'active': True,
           'network': {'id': 'n0000000-0000-4000-8000-000000000001',
                       'subnets': [{'ips': [{'address': '10.0.0.5'}]}]},
           'tag': 'mgmt'}

    def setUp(self):
        super().setUp()
        self.server = self.compute.add_instance()
        self.path = f'/servers/{self.server["uuid"]}/os-interface'
        self.compute.get_interfaces = lambda ctx, inst: [self.VIF]
        self.compute.attach_interface = lambda ctx, inst, **kw: self.VIF

    def test_list_show_and_tag_from_270(self):
        _, data, _ = self.call('GET', self.path, version='2.69')
        self.assertEqual([{
            'net_id': self.VIF['network']['id'], 'port_id': self.VIF['id'],
            'mac_addr': 'fa:16:3e:00:00:01', 'port_state': 'ACTIVE',
            'fixed_ips': [{'subnet_id': self.VIF['network']['id'],
                           'ip_address': '10.0.0.5'}]}],
            data['interfaceAttachments'])
        _, data, _ = self.call('GET', f'{self.path}/{self.VIF["id"]}',
                               version='2.70')
        self.assertEqual('mgmt', data['interfaceAttachment']['tag'])
        self.assertFault(404, 'itemNotFound', self.call(
            'GET', f'{self.path}/p0000000-0000-4000-8000-0000000000ff'))

    def test_create_validation(self):
        code, data, _ = self.call('POST', self.path, {
            'interfaceAttachment': {'fixed_ips': [
                {'ip_address': '10.0.0.9'}]}})
        self.assertEqual(200, code, data)
        for bad in ({'net_id': 'x'}, {'fixed_ips': [{'ip_address': 'x'}]},
                    {'net_id': self.VIF['network']['id'],
                     'port_id': self.VIF['id']}, {'bogus': 1}):
            self.assertFault(400, 'badRequest', self.call(
                'POST', self.path, {'interfaceAttachment': bad}))
        self.assertFault(400, 'badRequest', self.call(
            'POST', self.path, {'interfaceAttachment': {'tag': 't'}},
            version='2.48'))

    def test_attach_errors(self):
        def fail(ctx, inst, **kw):
            raise exception.FixedIpAlreadyInUse(address='10.0.0.5',
                                                network='private')
        self.compute.attach_interface = fail
        self.assertFault(400, 'badRequest', self.call(
            'POST', self.path, {'interfaceAttachment': {}}))


class TestRefusedActions(fakes.APITestCase):

    def setUp(self):
        super().setUp()
        self.server = self.compute.add_instance()
        self.path = f'/servers/{self.server["uuid"]}/action'

    def test_invalid_state_and_lock_are_409(self):
        def refuse(ctx, instance, *args, **kwargs):
            raise exception.InstanceInvalidState(
                attr='vm_state', instance_uuid=instance['uuid'],
                state='stopped', method='pause')
        self.compute.pause = refuse
        fault = self.assertFault(409, 'conflictingRequest',
                                 self.call('POST', self.path,
                                           {'pause': None}))
        self.assertIn("Cannot 'pause' instance", fault['message'])

        def locked(ctx, instance, *args, **kwargs):
            raise exception.InstanceIsLocked(instance_uuid=instance['uuid'])
        self.compute.suspend = locked
        fault = self.assertFault(409, 'conflictingRequest',
                                 self.call('POST', self.path,
                                           {'suspend': None}))
        self.assertEqual(f'Instance {self.server["uuid"]} is locked',
                         fault['message'])

    def test_shelve_offload_is_admin_only(self):
        self.assertFault(403, 'forbidden', self.call(
            'POST', self.path, {'shelveOffload': None}))
        code, _, _ = self.call('POST', self.path, {'shelveOffload': None},
                               token='admin:admin')
        self.assertEqual(202, code)
        self.assertEqual('shelve_offload', self.compute.calls[-1][0])
