"""Server actions: each reaches the compute API with upstream's code."""

from unittest import mock

from nova import exception
from nova.tests.unit.api import fakes


class TestActions(fakes.APITestCase):

    def setUp(self):
        super().setUp()
        self.server = self.compute.add_instance()
        self.uuid = self.server['uuid']
        self.path = f'/servers/{self.uuid}/action'

    def act(self, body, version=None, token='u1:p1'):
        return self.call('POST', self.path, body, version=version,
                         token=token)

    def last_call(self):
        return self.compute.calls[-1]

    def test_reboot_soft_and_hard(self):
        for kind, expected in (('SOFT', 'SOFT'), ('hard', 'HARD')):
            code, _data, _ = self.act({'reboot': {'type': kind}})
            self.assertEqual(202, code)
            self.assertEqual(('reboot', (self.uuid, expected), {}),
                             self.last_call())

    def test_reboot_bad_type_is_400(self):
        self.assertFault(400, 'badRequest',
                         self.act({'reboot': {'type': 'GENTLE'}}))

    def test_stop_start(self):
        for action, method in (('os-stop', 'stop'), ('os-start', 'start')):
            code, data, resp = self.act({action: None})
            self.assertEqual(202, code)
            self.assertEqual(b'', resp.body)
            self.assertEqual(method, self.last_call()[0])

    def test_lifecycle_actions_are_202(self):
        for action, method in (('pause', 'pause'), ('unpause', 'unpause'),
                               ('suspend', 'suspend'), ('resume', 'resume'),
                               ('shelve', 'shelve'), ('unshelve',
                                                      'unshelve'),
                               ('unrescue', 'unrescue'), ('lock', 'lock'),
                               ('unlock', 'unlock'),
                               ('revertResize', 'revert_resize')):
            code, _data, _ = self.act({action: None})
            self.assertEqual(202, code, action)
            self.assertEqual(method, self.last_call()[0], action)

    def test_confirm_resize_is_204(self):
        code, _data, _ = self.act({'confirmResize': None})
        self.assertEqual(204, code)
        self.assertEqual('confirm_resize', self.last_call()[0])

    def test_resize_runs_its_flow(self):
        code, _data, _ = self.act({'resize': {'flavorRef': '2'}})
        self.assertEqual(202, code)
        self.assertEqual(('resize', (self.uuid, '2'), {}), self.last_call())

    def test_resize_unknown_flavor_is_400(self):
        self.assertFault(400, 'badRequest',
                         self.act({'resize': {'flavorRef': '77'}}))

    def test_rebuild_returns_server_and_password(self):
        code, data, _ = self.act({'rebuild': {
            'imageRef': fakes.IMAGE_ID, 'name': 'again',
            'adminPass': 'pw'}}, version='2.57')
        self.assertEqual(202, code, data)
        self.assertEqual('pw', data['server']['adminPass'])
        self.assertEqual(self.uuid, data['server']['id'])
        name, args, kwargs = [c for c in self.compute.calls
                              if c[0] == 'rebuild'][0]
        self.assertEqual((self.uuid, fakes.IMAGE_ID, 'pw'), args)
        self.assertEqual({'display_name': 'again'}, kwargs)

    def test_rebuild_key_name_from_254(self):
        body = {'rebuild': {'imageRef': fakes.IMAGE_ID, 'key_name': 'k'}}
        self.assertFault(400, 'badRequest', self.act(body, '2.53'))
        code, _data, _ = self.act(body, '2.54')
        self.assertEqual(202, code)

    def test_create_image_location_before_245(self):
        code, data, resp = self.act({'createImage': {'name': 'snap'}},
                                    version='2.44')
        self.assertEqual(202, code)
        self.assertIsNone(data)
        self.assertTrue(resp.headers['Location'].endswith(
            '/images/a1b2c3d4-0000-4000-8000-000000000001'))

    def test_create_image_body_from_245(self):
        code, data, _ = self.act({'createImage': {
            'name': 'snap', 'metadata': {'k': 'v'}}}, version='2.45')
        self.assertEqual(202, code)
        self.assertEqual({'image_id': 'a1b2c3d4-0000-4000-8000-000000000001'},
                         data)
        self.assertEqual({'extra_properties': {'k': 'v'}},
                         self.last_call()[2])

    def test_migrate_and_evacuate_are_admin_only(self):
        self.assertFault(403, 'forbidden', self.act({'migrate': None}))
        self.assertFault(403, 'forbidden', self.act({'evacuate': {}},
                                                    version='2.95'))
        self.assertFault(403, 'forbidden', self.act(
            {'os-migrateLive': {'host': None, 'block_migration': 'auto'}},
            version='2.25'))
        code, _data, _ = self.act({'migrate': None}, token='admin:admin')
        self.assertEqual(202, code)

    def test_migrate_host_from_256(self):
        self.assertFault(400, 'badRequest', self.act(
            {'migrate': {'host': 'h2'}}, version='2.55', token='admin:a'))
        self.act({'migrate': {'host': 'h2'}}, version='2.56',
                 token='admin:a')
        self.assertEqual({'host_name': 'h2'}, self.last_call()[2])

    def test_live_migrate(self):
        code, _data, _ = self.act(
            {'os-migrateLive': {'host': None, 'block_migration': 'auto'}},
            version='2.25', token='admin:admin')
        self.assertEqual(202, code)
        self.assertEqual(('live_migrate', (self.uuid, None, 'auto'), {}),
                         self.last_call())

    def test_live_migrate_to_a_host_is_forced_before_230(self):
        body = {'os-migrateLive': {'host': 'h2', 'block_migration': False}}
        self.act(body, version='2.29', token='admin:admin')
        self.assertEqual(('live_migrate', (self.uuid, 'h2', False),
                          {'force': True}), self.last_call())
        self.act(body, version='2.30', token='admin:admin')
        self.assertEqual({}, self.last_call()[2])
        body['os-migrateLive']['force'] = True
        self.act(body, version='2.30', token='admin:admin')
        self.assertEqual({'force': True}, self.last_call()[2])

    def test_evacuate_password_before_214_only(self):
        code, data, _ = self.act(
            {'evacuate': {'host': 'h2', 'onSharedStorage': False}},
            version='2.13', token='admin:admin')
        self.assertEqual(200, code)
        self.assertIn('adminPass', data)
        code, data, _ = self.act({'evacuate': {'host': 'h2'}},
                                 version='2.14', token='admin:admin')
        self.assertEqual(200, code)
        self.assertIsNone(data)

    def test_evacuate_passes_shared_storage_force_and_target_state(self):
        self.act({'evacuate': {'host': 'h2', 'onSharedStorage': 'true'}},
                 version='2.13', token='admin:admin')
        name, args, kwargs = self.last_call()
        self.assertEqual(('evacuate', (self.uuid, 'h2')), (name, args))
        self.assertIs(True, kwargs['on_shared_storage'])
        self.act({'evacuate': {'host': 'h2', 'force': True}},
                 version='2.29', token='admin:admin')
        self.assertIs(True, self.last_call()[2]['force'])
        self.assertFault(400, 'badRequest', self.act(
            {'evacuate': {'host': 'h2', 'force': True}}, version='2.68',
            token='admin:admin'))
        self.act({'evacuate': {'targetState': 'stopped'}}, version='2.95',
                 token='admin:admin')
        self.assertEqual({'admin_password': None, 'target_state': 'stopped'},
                         self.last_call()[2])

    def test_rescue_returns_password(self):
        code, data, _ = self.act({'rescue': {'adminPass': 'x'}})
        self.assertEqual(200, code)
        self.assertEqual({'adminPass': 'x'}, data)

    def test_lock_reason_from_273(self):
        self.assertFault(400, 'badRequest', self.act(
            {'lock': {'locked_reason': 'r'}}, version='2.72'))
        self.act({'lock': {'locked_reason': 'r'}}, version='2.73')
        self.assertEqual({'reason': 'r'}, self.last_call()[2])

    def test_unlocking_an_admin_lock_needs_override(self):
        self.db.instances[self.uuid]['locked_by'] = 'admin'
        self.assertFault(403, 'forbidden', self.act({'unlock': None}))

    def test_console_output(self):
        code, data, _ = self.act({'os-getConsoleOutput': {'length': 10}})
        self.assertEqual(200, code)
        self.assertEqual({'output': 'console\n'}, data)
        self.assertEqual({'tail_length': 10}, self.last_call()[2])

    def test_action_not_supported_is_409(self):
        with mock.patch.object(
                type(self.compute), 'pause', create=True,
                side_effect=exception.ActionNotSupported(action='pause')):
            fault = self.assertFault(409, 'conflictingRequest',
                                     self.act({'pause': None}))
        self.assertIn('pause', fault['message'])

    def test_invalid_state_is_409(self):
        error = exception.InstanceInvalidState(
            attr='vm_state', instance_uuid=self.uuid, state='stopped',
            method='stop')
        with mock.patch.object(type(self.compute), 'stop', create=True,
                               side_effect=error):
            fault = self.assertFault(409, 'conflictingRequest',
                                     self.act({'os-stop': None}))
        self.assertIn('stopped', fault['message'])

    def test_other_projects_server_is_404_for_every_action(self):
        foreign = self.compute.add_instance(project_id='p2')
        for body in ({'os-stop': None}, {'reboot': {'type': 'SOFT'}},
                     {'resize': {'flavorRef': '2'}},
                     {'rebuild': {'imageRef': fakes.IMAGE_ID}}):
            self.assertFault(404, 'itemNotFound', self.call(
                'POST', f"/servers/{foreign['uuid']}/action", body))
        self.assertEqual([], self.compute.calls)

    def test_action_value_must_match_schema(self):
        self.assertFault(400, 'badRequest', self.act({'os-stop': {'x': 1}}))
