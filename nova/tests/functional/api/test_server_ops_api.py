"""Server operations beyond the life cycle through the REST API, on a
whole cloud in-process: trigger_crash_dump (2.17), diagnostics, the
server password, and the external events other services send.

What a client gets back at each microversion, for the owner, another
project and an admin, and upstream's error bodies.
"""

from __future__ import annotations

import uuid as uuid_lib
from unittest import mock

from oslo_utils import units

from nova import context as nova_context
from nova.compute import power_state, vm_states
from nova.policies import enforcer
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional.api import base as api_base
from nova.virt import driver as virt_driver

USER = api_base.USER
ADMIN = api_base.ADMIN
OTHER = 'other:other'


class _ServerTestCase(api_base.APITestCase):

    def setUp(self):
        super().setUp()
        self.server = self.cloud.wait_for_state(
            self.cloud.boot(self.cloud.user_context())['uuid'],
            vm_states.ACTIVE)
        self.uuid = self.server['uuid']

    def driver(self):
        return self.cloud.manager('compute1').driver

    def assert_error(self, result, code, kind, text):
        status, data = result
        self.assertEqual(code, status, data)
        self.assertEqual([kind], list(data))
        self.assertEqual(code, data[kind]['code'])
        self.assertIn(text, data[kind]['message'])


class TestTriggerCrashDump(_ServerTestCase):

    def dump(self, token=USER, version='2.17', body=None):
        return self.call('POST', f'/servers/{self.uuid}/action',
                         body or {'trigger_crash_dump': None}, token,
                         version)

    def crash_dumps(self):
        return self.driver().instance_record(self.uuid).get('crash_dumps',
                                                            0)

    def test_owner_triggers_a_dump(self):
        self.assertEqual((202, None), self.dump())
        self.assertEqual(1, self.crash_dumps())
        _, data = self.call('GET', f'/servers/{self.uuid}/os-instance-'
                                   f'actions', version='2.84')
        self.assertEqual('trigger_crash_dump',
                         data['instanceActions'][0]['action'])
        _, data = self.call('GET', f'/servers/{self.uuid}')
        self.assertEqual('ACTIVE', data['server']['status'])

    def test_admin_triggers_a_dump_of_any_server(self):
        self.assertEqual(202, self.dump(token=ADMIN)[0])
        self.assertEqual(1, self.crash_dumps())

    def test_before_2_17_there_is_no_such_action(self):
        self.assert_error(self.dump(version='2.16'), 400, 'badRequest',
                          'There is no such action: trigger_crash_dump')
        self.assertEqual(0, self.crash_dumps())

    def test_another_projects_server_is_not_found(self):
        self.assert_error(self.dump(token=OTHER), 404, 'itemNotFound',
                          self.uuid)
        self.assertEqual(0, self.crash_dumps())

    def test_body_must_be_null(self):
        self.assert_error(self.dump(body={'trigger_crash_dump': {}}), 400,
                          'badRequest', 'Invalid input')

    def test_driver_without_the_feature_is_400(self):
        base = virt_driver.ComputeDriver.trigger_crash_dump
        with mock.patch.object(type(self.driver()), 'trigger_crash_dump',
                               base):
            self.assert_error(self.dump(), 400, 'badRequest',
                              'Triggering crash dump is not supported')

    def test_stopped_server_is_409(self):
        self.assertEqual(202, self.call('POST',
                                        f'/servers/{self.uuid}/action',
                                        {'os-stop': None})[0])
        self.cloud.wait_for_state(self.uuid, vm_states.STOPPED)
        self.assert_error(self.dump(), 409, 'conflictingRequest',
                          f"Cannot 'trigger_crash_dump' instance "
                          f"{self.uuid} while it is in vm_state stopped")

    def test_paused_server_dumps(self):
        self.call('POST', f'/servers/{self.uuid}/action', {'pause': None})
        self.cloud.wait_for_state(self.uuid, vm_states.PAUSED)
        self.assertEqual(202, self.dump()[0])
        self.assertEqual(1, self.crash_dumps())

    def test_locked_server_is_409_for_its_owner(self):
        self.call('POST', f'/servers/{self.uuid}/action', {'lock': None},
                  token=ADMIN)
        self.assert_error(self.dump(), 409, 'conflictingRequest',
                          'locked')
        self.assertEqual(202, self.dump(token=ADMIN)[0])


class TestServerDiagnostics(_ServerTestCase):

    def diagnostics(self, token=ADMIN, version='2.48'):
        return self.call('GET', f'/servers/{self.uuid}/diagnostics',
                         token=token, version=version)

    def test_standard_format_from_2_48(self):
        code, data = self.diagnostics()
        self.assertEqual(200, code, data)
        self.assertEqual(
            ['state', 'driver', 'hypervisor', 'hypervisor_os', 'uptime',
             'config_drive', 'num_cpus', 'num_nics', 'num_disks',
             'memory_details', 'cpu_details', 'nic_details',
             'disk_details'], list(data))
        self.assertEqual(('running', 'fake'), (data['state'],
                                               data['driver']))
        # m1.tiny: one vCPU, 512 MB; booted with one port, one disk.
        self.assertEqual((1, 1, 1), (data['num_cpus'], data['num_nics'],
                                     data['num_disks']))
        self.assertEqual(512, data['memory_details']['maximum'])
        self.assertEqual(['id', 'time', 'utilisation'],
                         sorted(data['cpu_details'][0]))

    def test_driver_keys_before_2_48(self):
        code, data = self.diagnostics(version='2.47')
        self.assertEqual(200, code, data)
        self.assertNotIn('driver', data)
        self.assertEqual(512 * 1024, data['memory'])
        self.assertIn('cpu0_time', data)

    def test_admin_only(self):
        self.assert_error(self.diagnostics(token=USER), 403, 'forbidden',
                          'os_compute_api:os-server-diagnostics')
        self.assert_error(self.diagnostics(token=OTHER), 404,
                          'itemNotFound', self.uuid)

    def test_guest_not_running_is_409(self):
        self.call('POST', f'/servers/{self.uuid}/action', {'os-stop': None})
        self.cloud.wait_for_state(self.uuid, vm_states.STOPPED)
        self.assert_error(self.diagnostics(), 409, 'conflictingRequest',
                          'power state shutdown')

    def test_driver_without_diagnostics_is_501(self):
        base = virt_driver.ComputeDriver.get_instance_diagnostics
        with mock.patch.object(type(self.driver()),
                               'get_instance_diagnostics', base):
            self.assert_error(self.diagnostics(), 501, 'notImplemented',
                              'The requested functionality is not '
                              'supported.')


class TestServerPassword(_ServerTestCase):

    URL = '/servers/{}/os-server-password'

    def set_password(self, text):
        """What the metadata service stores for a guest's POST: 255
        characters a system_metadata item."""
        sysmeta = dict(self.cloud.instance(self.uuid)['system_metadata'])
        sysmeta.update({f'password_{n}': text[n * 255:(n + 1) * 255]
                        for n in range(4)})
        self.cloud.db.instance_update(self.cloud.ctx, self.uuid,
                                      {'system_metadata': sysmeta})

    def test_none_stored_is_empty(self):
        self.assertEqual((200, {'password': ''}),
                         self.call('GET', self.URL.format(self.uuid)))

    def test_show_joins_the_chunks_and_clear_empties_them(self):
        secret = 'x' * 300 + 'y' * 384
        self.set_password(secret)
        self.assertEqual((200, {'password': secret}),
                         self.call('GET', self.URL.format(self.uuid)))
        self.assertEqual((204, None),
                         self.call('DELETE', self.URL.format(self.uuid)))
        self.assertEqual((200, {'password': ''}),
                         self.call('GET', self.URL.format(self.uuid)))
        sysmeta = self.cloud.instance(self.uuid)['system_metadata']
        self.assertEqual('', sysmeta['password_0'])

    def test_another_projects_server_is_not_found(self):
        self.set_password('secret')
        for method in ('GET', 'DELETE'):
            self.assert_error(self.call(method, self.URL.format(self.uuid),
                                        token=OTHER),
                              404, 'itemNotFound', self.uuid)
        self.assertEqual({'password': 'secret'},
                         self.call('GET', self.URL.format(self.uuid),
                                   token=ADMIN)[1])


class TestServerExternalEvents(_ServerTestCase):

    def events(self, *events, token=ADMIN, version='2.93'):
        return self.call('POST', '/os-server-external-events',
                         {'events': list(events)}, token, version)

    def event(self, name, **fields):
        return dict({'name': name, 'server_uuid': self.uuid}, **fields)

    def action(self, name):
        return self.cloud.wait_for_action(self.uuid, name)

    def test_network_changed_is_handed_to_the_host(self):
        network = self.cloud.manager('compute1').services.network
        port_id = network.get_instance_nw_info(self.cloud.ctx,
                                               self.uuid)[0]['id']
        with mock.patch.object(network, 'get_instance_nw_info',
                               wraps=network.get_instance_nw_info) as read:
            code, data = self.events(
                self.event('network-changed', tag=port_id), version='2.1')
            self.assertEqual(200, code, data)
            self.assertEqual([{'name': 'network-changed',
                               'server_uuid': self.uuid, 'tag': port_id,
                               'status': 'completed', 'code': 200}],
                             data['events'])
            # The compute host read the instance's ports again.
            func_fixtures.wait_for(
                lambda: any(c.args[1] == self.uuid
                            for c in read.call_args_list),
                what='the host to refresh the network info')

    def test_event_names_by_microversion(self):
        for name, version in (('volume-extended', '2.51'),
                              ('power-update', '2.76'),
                              ('accelerator-request-bound', '2.82'),
                              ('volume-reimaged', '2.93')):
            previous = f'2.{int(version.split(".")[1]) - 1}'
            event = self.event(name, tag='tag')
            code, data = self.events(event, version=previous)
            self.assertEqual(400, code, (name, data))
            self.assertIn('name', data['badRequest']['message'])
            code, data = self.events(event, version=version)
            self.assertIn(code, (200, 207), (name, data))
            self.assertNotEqual(400, code)
        for name in ('network-vif-plugged', 'network-vif-unplugged',
                     'network-vif-deleted'):
            code, data = self.events(self.event(name, tag='port'),
                                     version='2.1')
            self.assertEqual(200, code, (name, data))

    def test_207_with_a_code_per_event(self):
        unknown = str(uuid_lib.uuid4())
        code, data = self.events(
            self.event('network-vif-plugged', tag='port'),
            {'name': 'network-changed', 'server_uuid': unknown},
            self.event('volume-extended'))
        self.assertEqual(207, code, data)
        self.assertEqual([(200, 'completed'), (404, 'failed'),
                          (400, 'failed')],
                         [(e['code'], e['status']) for e in data['events']])

    def test_no_event_accepted_is_207_not_404(self):
        # Upstream since bug 1855752: the codes say why, no overall 404.
        code, data = self.events({'name': 'network-changed',
                                  'server_uuid': str(uuid_lib.uuid4())})
        self.assertEqual(207, code, data)
        self.assertEqual([404], [e['code'] for e in data['events']])

    def test_server_without_host_is_422(self):
        self.cloud.db.instance_update(self.cloud.ctx, self.uuid,
                                      {'host': None})
        code, data = self.events(self.event('network-changed'),
                                 self.event('network-vif-plugged',
                                            status='failed'))
        self.assertEqual(207, code, data)
        self.assertEqual([(422, 'failed')] * 2,
                         [(e['code'], e['status']) for e in data['events']])

    def test_bad_bodies(self):
        for body in ({'events': []}, {'events': [self.event('nope')]},
                     {'events': [self.event('network-changed',
                                            status='done')]},
                     {'events': [{'name': 'network-changed',
                                  'server_uuid': 'not-a-uuid'}]},
                     {'events': [self.event('network-changed', x=1)]}):
            code, data = self.call('POST', '/os-server-external-events',
                                   body, ADMIN, '2.93')
            self.assertEqual(400, code, (body, data))

    def test_admin_or_service_only(self):
        rule = 'os_compute_api:os-server-external-events:create'
        self.assert_error(self.events(self.event('network-changed'),
                                      token=USER), 403, 'forbidden', rule)
        service = nova_context.RequestContext(
            user_id='neutron', project_id='service', roles=['service'])
        self.assertTrue(enforcer.authorize(service, rule, fatal=False))

    def test_power_update_syncs_the_power_state(self):
        # The guest went off behind nova's back (a bare metal service).
        self.driver().power_off(self.server)
        code, data = self.events(
            self.event('power-update', tag='POWER_OFF'), version='2.76')
        self.assertEqual(200, code, data)
        instance = self.cloud.wait_for_state(self.uuid, vm_states.STOPPED)
        self.assertEqual(power_state.SHUTDOWN, instance['power_state'])
        self.assertIsNone(self.action('stop')['message'])

        self.driver().power_on(self.cloud.ctx, self.server, None)
        self.events(self.event('power-update', tag='POWER_ON'),
                    version='2.76')
        instance = self.cloud.wait_for_state(self.uuid, vm_states.ACTIVE)
        self.assertEqual(power_state.RUNNING, instance['power_state'])
        _, data = self.call('GET', f'/servers/{self.uuid}')
        self.assertEqual('ACTIVE', data['server']['status'])

    def test_power_update_with_an_unknown_tag_is_dropped(self):
        code, _ = self.events(self.event('power-update', tag='REBOOT'),
                              version='2.76')
        self.assertEqual(200, code)
        actions = [a['action'] for a in self.cloud.db.actions_get(
            self.cloud.ctx, self.uuid)]
        self.assertNotIn('start', actions)
        self.assertNotIn('stop', actions)

    def test_volume_extended_reaches_the_driver(self):
        volume_api = self.cloud.manager('compute1').services.volume
        volume = volume_api.create(self.cloud.user_context(), 1, 'data')
        self.call('POST', f'/servers/{self.uuid}/os-volume_attachments',
                  {'volumeAttachment': {'volumeId': volume['id']}})
        func_fixtures.wait_for(lambda: volume_api.get(
            self.cloud.ctx, volume['id'])['status'] == 'in-use',
            what='the volume to be in-use')
        code, data = self.events(
            self.event('volume-extended', tag=volume['id']), version='2.51')
        self.assertEqual(200, code, data)
        self.assertIsNone(self.action('extend_volume')['message'])
        record = self.driver().instance_record(self.uuid)
        (attached,) = record['volumes'].values()
        self.assertEqual(1 * units.Gi, attached['size'])
