"""The servers controller: list, show, create, update, delete, views."""

import uuid

from nova.tests.unit.api import fakes

IMAGE = fakes.IMAGE_ID
BDM = [{'uuid': IMAGE, 'boot_index': 0, 'source_type': 'image',
        'destination_type': 'local', 'delete_on_termination': True}]


def _create_body(**server):
    body = {'name': 'vm', 'flavorRef': '1', 'imageRef': IMAGE,
            'networks': 'auto'}
    body.update(server)
    return {'server': body}


class TestList(fakes.APITestCase):

    def setUp(self):
        super().setUp()
        self.mine = self.compute.add_instance(display_name='web-1')
        self.other = self.compute.add_instance(display_name='db-1',
                                               vm_state='stopped')
        self.foreign = self.compute.add_instance(project_id='p2',
                                                 display_name='web-9')

    def test_index_is_id_name_links_of_own_project(self):
        code, data, _ = self.call('GET', '/servers')
        self.assertEqual(200, code)
        self.assertEqual({self.mine['uuid'], self.other['uuid']},
                         {s['id'] for s in data['servers']})
        self.assertEqual({'id', 'name', 'links'},
                         set(data['servers'][0]))

    def test_detail_never_shows_another_project(self):
        _code, data, _ = self.call('GET', '/servers/detail')
        self.assertNotIn(self.foreign['uuid'],
                         [s['id'] for s in data['servers']])
        opts = self.compute.calls[-1][1][0]
        self.assertEqual('p1', opts['project_id'])

    def test_name_filter_is_a_regex(self):
        _code, data, _ = self.call('GET', '/servers/detail?name=^web')
        self.assertEqual([self.mine['uuid']],
                         [s['id'] for s in data['servers']])

    def test_invalid_name_regex_is_400(self):
        self.assertFault(400, 'badRequest',
                         self.call('GET', '/servers/detail?name=(('))

    def test_status_filter_maps_to_vm_state(self):
        _code, data, _ = self.call('GET', '/servers/detail?status=SHUTOFF')
        opts = self.compute.calls[-1][1][0]
        self.assertEqual(['stopped'], opts['vm_state'])
        self.assertEqual([self.other['uuid']],
                         [s['id'] for s in data['servers']])

    def test_invalid_status_is_400_from_238(self):
        self.assertFault(400, 'badRequest', self.call(
            'GET', '/servers?status=SLEEPY', version='2.38'))

    def test_invalid_status_matches_nothing_before_238(self):
        code, data, _ = self.call('GET', '/servers?status=SLEEPY',
                                  version='2.37')
        self.assertEqual(200, code)
        self.assertEqual([], data['servers'])

    def test_host_filter_is_admin_only(self):
        self.call('GET', '/servers/detail?host=host1')
        self.assertNotIn('host', self.compute.calls[-1][1][0])
        self.admin('GET', '/servers/detail?host=host1')
        self.assertEqual('host1', self.compute.calls[-1][1][0]['host'])

    def test_admin_all_tenants_drops_the_project_filter(self):
        _code, data, _ = self.admin('GET', '/servers/detail?all_tenants=1')
        self.assertNotIn('project_id', self.compute.calls[-1][1][0])
        self.assertEqual(3, len(data['servers']))

    def test_all_tenants_is_forbidden_to_users(self):
        self.assertFault(403, 'forbidden',
                         self.call('GET', '/servers?all_tenants=1'))

    def test_changes_since_is_parsed_and_includes_deleted(self):
        self.call('GET', '/servers/detail?changes-since=2026-01-01T00:00:00Z')
        opts = self.compute.calls[-1][1][0]
        self.assertEqual(2026, opts['changes-since'].year)
        self.assertNotIn('deleted', opts)

    def test_bad_changes_since_is_400(self):
        self.assertFault(400, 'badRequest', self.call(
            'GET', '/servers/detail?changes-since=yesterday'))

    def test_deleted_false_default(self):
        self.call('GET', '/servers/detail?deleted=False')
        self.assertIs(False, self.compute.calls[-1][1][0]['deleted'])

    def test_limit_and_marker_go_to_compute_and_next_link(self):
        _code, data, _ = self.call('GET', '/servers?limit=1&marker=abc')
        call = self.compute.calls[-1]
        self.assertEqual(1, call[2]['limit'])
        self.assertEqual('abc', call[2]['marker'])
        self.assertEqual(1, len(data['servers']))
        self.assertIn('marker=' + data['servers'][0]['id'],
                      data['servers_links'][0]['href'])

    def test_negative_limit_is_400(self):
        self.assertFault(400, 'badRequest',
                         self.call('GET', '/servers?limit=-1'))

    def test_unknown_query_parameter_rejected_from_275(self):
        code, _data, _ = self.call('GET', '/servers?bogus=1', version='2.74')
        self.assertEqual(200, code)
        self.assertFault(400, 'badRequest', self.call(
            'GET', '/servers?bogus=1', version='2.75'))

    def test_user_filters_allowed_from_283(self):
        self.call('GET', '/servers/detail?key_name=k', version='2.82')
        self.assertNotIn('key_name', self.compute.calls[-1][1][0])
        self.call('GET', '/servers/detail?key_name=k', version='2.83')
        self.assertEqual('k', self.compute.calls[-1][1][0]['key_name'])

    def test_sorting_by_host_is_admin_only(self):
        self.assertFault(403, 'forbidden',
                         self.call('GET', '/servers?sort_key=host'))


class TestShow(fakes.APITestCase):

    def setUp(self):
        super().setUp()
        self.server = self.compute.add_instance(
            metadata={'k': 'v'}, key_name='key', tags=['a'],
            display_description='desc', locked=True,
            locked_reason='maintenance')

    def _show(self, version=None, token='u1:p1'):
        code, data, _ = self.call('GET', f"/servers/{self.server['uuid']}",
                                  version=version, token=token)
        self.assertEqual(200, code, data)
        return data['server']

    def test_fields_clients_need(self):
        server = self._show()
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual('server', server['name'])
        self.assertIsInstance(server['flavor'], dict)
        self.assertEqual(IMAGE, server['image']['id'])
        self.assertEqual('p1', server['tenant_id'])
        self.assertEqual('2026-01-02T03:04:05Z', server['created'])

    def test_flavor_is_a_link_before_247(self):
        flavor = self._show('2.46')['flavor']
        self.assertEqual('1', flavor['id'])
        self.assertEqual('bookmark', flavor['links'][0]['rel'])

    def test_flavor_is_embedded_from_247(self):
        flavor = self._show('2.47')['flavor']
        self.assertEqual(
            {'vcpus': 1, 'ram': 512, 'disk': 1, 'ephemeral': 0, 'swap': 0,
             'original_name': 'm1.tiny',
             'extra_specs': {'hw:cpu': 'shared'}}, flavor)

    def test_boot_from_volume_image_is_empty_string(self):
        self.db.instances[self.server['uuid']]['image_ref'] = ''
        self.assertEqual('', self._show()['image'])

    def test_image_properties_from_298(self):
        self.assertNotIn('properties', self._show('2.97')['image'])
        self.assertEqual({}, self._show('2.98')['image']['properties'])

    def test_microversioned_fields_appear_at_their_version(self):
        fields = {'locked': '2.9', 'description': '2.19', 'tags': '2.26',
                  'trusted_image_certificates': '2.63',
                  'server_groups': '2.71', 'locked_reason': '2.73',
                  'pinned_availability_zone': '2.96',
                  'scheduler_hints': '2.100'}
        for field, since in fields.items():
            major, minor = since.split('.')
            before = f'{major}.{int(minor) - 1}'
            self.assertNotIn(field, self._show(before), field)
            self.assertIn(field, self._show(since), field)
        server = self._show('2.100')
        self.assertEqual(['a'], server['tags'])
        self.assertEqual('maintenance', server['locked_reason'])

    def test_extended_attributes_are_admin_only(self):
        self.assertNotIn('OS-EXT-SRV-ATTR:host', self._show())
        server = self._show(token='admin:admin')
        self.assertEqual('host1', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual('node1',
                         server['OS-EXT-SRV-ATTR:hypervisor_hostname'])

    def test_hostname_visible_to_owner_from_290(self):
        self.assertNotIn('OS-EXT-SRV-ATTR:hostname', self._show('2.89'))
        self.assertEqual('server',
                         self._show('2.90')['OS-EXT-SRV-ATTR:hostname'])

    def test_host_status_admin_from_216(self):
        self.assertNotIn('host_status', self._show('2.16'))
        self.assertEqual('UP', self._show('2.16', 'admin:admin')[
            'host_status'])

    def test_another_projects_server_is_404(self):
        foreign = self.compute.add_instance(project_id='p2')
        self.assertFault(404, 'itemNotFound',
                         self.call('GET', f"/servers/{foreign['uuid']}"))

    def test_admin_sees_any_project(self):
        foreign = self.compute.add_instance(project_id='p2')
        code, _data, _ = self.admin('GET', f"/servers/{foreign['uuid']}")
        self.assertEqual(200, code)

    def test_show_by_name_is_404_not_400(self):
        self.assertFault(404, 'itemNotFound',
                         self.call('GET', '/servers/my-server'))

    def test_missing_server_is_404(self):
        self.assertFault(404, 'itemNotFound',
                         self.call('GET', f'/servers/{uuid.uuid4()}'))

    def test_error_server_shows_fault_without_details_for_users(self):
        self.db.instances[self.server['uuid']].update(vm_state='error')
        self.db.faults[self.server['uuid']] = [
            {'code': 500, 'message': 'boom', 'details': 'Traceback...',
             'created_at': fakes.NOW}]
        server = self._show()
        self.assertEqual('ERROR', server['status'])
        self.assertEqual('boom', server['fault']['message'])
        self.assertNotIn('details', server['fault'])
        self.assertIn('details', self._show(token='admin:admin')['fault'])


class TestCreate(fakes.APITestCase):

    def _create(self, body, version='2.100', token='u1:p1'):
        return self.call('POST', '/servers', body, version=version,
                         token=token)

    def _kwargs(self):
        name, args, kwargs = self.compute.calls[-1]
        self.assertEqual('create', name)
        return args, kwargs

    def test_openstackclient_request_with_image_and_bdm(self):
        code, data, resp = self._create(_create_body(
            min_count=1, max_count=1, block_device_mapping_v2=BDM))
        self.assertEqual(202, code, data)
        server = data['server']
        self.assertIn('adminPass', server)
        self.assertEqual(resp.headers['Location'], server['links'][0]['href'])
        args, kwargs = self._kwargs()
        self.assertEqual('1', args[0]['flavorid'])
        self.assertEqual(IMAGE, args[1])
        self.assertEqual('auto', kwargs['requested_networks'])
        bdm = kwargs['block_device_mapping'][0]
        self.assertEqual(IMAGE, bdm['image_id'])
        self.assertNotIn('uuid', bdm)

    def test_boot_from_volume_without_image(self):
        volume = str(uuid.uuid4())
        body = _create_body(block_device_mapping_v2=[{
            'uuid': volume, 'boot_index': 0, 'source_type': 'volume',
            'destination_type': 'volume'}])
        del body['server']['imageRef']
        code, data, _ = self._create(body)
        self.assertEqual(202, code, data)
        args, kwargs = self._kwargs()
        self.assertEqual('', args[1])
        self.assertEqual(volume,
                         kwargs['block_device_mapping'][0]['volume_id'])

    def test_openstackclient_boot_from_volume_request(self):
        """``server create --boot-from-volume 1``: an image-to-volume
        mapping and no imageRef; the build creates the volume."""
        body = _create_body(block_device_mapping_v2=[{
            'uuid': IMAGE, 'boot_index': 0, 'source_type': 'image',
            'destination_type': 'volume', 'volume_size': 1,
            'delete_on_termination': False}])
        del body['server']['imageRef']
        code, data, _ = self._create(body)
        self.assertEqual(202, code, data)
        args, kwargs = self._kwargs()
        self.assertEqual('', args[1])
        self.assertEqual([{'image_id': IMAGE, 'boot_index': 0,
                           'source_type': 'image',
                           'destination_type': 'volume', 'volume_size': 1,
                           'delete_on_termination': False}],
                         kwargs['block_device_mapping'])

    def test_image_to_volume_without_size_is_400(self):
        for size in ({}, {'volume_size': None}):
            body = _create_body(block_device_mapping_v2=[dict({
                'uuid': IMAGE, 'boot_index': 0, 'source_type': 'image',
                'destination_type': 'volume'}, **size)])
            del body['server']['imageRef']
            fault = self.assertFault(400, 'badRequest', self._create(body))
            self.assertEqual("Images with destination_type 'volume' need "
                             "to have a non-zero size specified",
                             fault['message'])
        self.assertEqual([], self.compute.calls)

    def test_volume_created_at_boot_is_400(self):
        for source in ('blank', 'snapshot'):
            fault = self.assertFault(400, 'badRequest', self._create(
                _create_body(block_device_mapping_v2=[{
                    'uuid': IMAGE, 'boot_index': 0, 'source_type': source,
                    'destination_type': 'volume', 'volume_size': 1}])))
            self.assertIn('not supported', fault['message'])
        self.assertEqual([], self.compute.calls)

    def test_no_image_and_no_bootable_bdm_is_400(self):
        body = _create_body()
        del body['server']['imageRef']
        self.assertFault(400, 'badRequest', self._create(body))

    def test_unknown_field_is_400(self):
        fault = self.assertFault(400, 'badRequest', self._create(
            _create_body(colour='blue')))
        self.assertIn('colour', fault['message'])

    def test_wrong_type_is_400(self):
        self.assertFault(400, 'badRequest', self._create(
            _create_body(min_count='many')))

    def test_bad_network_uuid_is_400(self):
        self.assertFault(400, 'badRequest', self._create(
            _create_body(networks=[{'uuid': 'not-a-uuid'}])))

    def test_networks_required_from_237(self):
        body = _create_body()
        del body['server']['networks']
        self.assertFault(400, 'badRequest', self._create(body, '2.37'))
        code, _data, _ = self._create(body, '2.36')
        self.assertEqual(202, code)

    def test_unknown_flavor_is_400(self):
        self.assertFault(400, 'badRequest', self._create(
            _create_body(flavorRef='404')))

    def test_flavor_ref_may_be_a_url(self):
        code, _data, _ = self._create(_create_body(
            flavorRef='http://localhost/v2.1/flavors/2'))
        self.assertEqual(202, code)
        self.assertEqual('2', self._kwargs()[0][0]['flavorid'])

    def test_multiple_create(self):
        code, data, _ = self._create(_create_body(min_count=2, max_count=3))
        self.assertEqual(202, code)
        _args, kwargs = self._kwargs()
        self.assertEqual((2, 3), (kwargs['min_count'], kwargs['max_count']))
        self.assertIn('server', data)

    def test_min_count_above_max_count_is_400(self):
        self.assertFault(400, 'badRequest', self._create(
            _create_body(min_count=3, max_count=2)))

    def test_return_reservation_id(self):
        _code, data, _ = self._create(_create_body(
            return_reservation_id=True))
        self.assertEqual({'reservation_id': 'r-abc'}, data)

    def test_optional_features_reach_compute(self):
        body = _create_body(
            key_name='k', user_data='aGVsbG8=', availability_zone='az1',
            config_drive=True, security_groups=[{'name': 'web'},
                                                {'name': 'web'}],
            metadata={'a': 'b'}, description='d', tags=['t1'],
            hostname='box')
        group = str(uuid.uuid4())
        self.db.groups[group] = {'id': 7, 'uuid': group, 'project_id': 'p1',
                                 'policy': 'affinity', 'members': []}
        self.db.aggregates.append({
            'id': 1, 'name': 'agg1', 'hosts': ['host1'],
            'metadata': {'availability_zone': 'az1'}})
        body['os:scheduler_hints'] = {'group': group}
        code, data, _ = self._create(body)
        self.assertEqual(202, code, data)
        _args, kwargs = self._kwargs()
        self.assertEqual('k', kwargs['key_name'])
        self.assertEqual('aGVsbG8=', kwargs['user_data'])
        self.assertEqual('az1', kwargs['availability_zone'])
        self.assertIs(True, kwargs['config_drive'])
        self.assertEqual(['web'], kwargs['security_groups'])
        self.assertEqual({'a': 'b'}, kwargs['metadata'])
        self.assertEqual('d', kwargs['description'])
        self.assertEqual(['t1'], kwargs['tags'])
        self.assertEqual('box', kwargs['hostname'])
        self.assertIn('group', kwargs['scheduler_hints'])
        self.assertEqual(7, kwargs['instance_group']['id'])
        self.assertEqual([{'name': 'web'}], data['server']['security_groups'])

    def test_unknown_security_group_is_400(self):
        code, data, _ = self._create(_create_body(
            security_groups=[{'name': 'nope'}]))
        self.assertEqual(400, code, data)
        self.assertEqual("Unable to find security_group with name or id "
                         "'nope'", data['badRequest']['message'])
        self.assertNotIn('create', [c[0] for c in self.compute.calls])

    def test_fields_rejected_before_their_microversion(self):
        for field, value, since in (('description', 'd', '2.19'),
                                    ('tags', ['t'], '2.52'),
                                    ('hostname', 'box', '2.90')):
            major, minor = since.split('.')
            before = f'{major}.{int(minor) - 1}'
            body = _create_body(**{field: value})
            if since < '2.37':
                # "auto" networks came in 2.37.
                del body['server']['networks']
            self.assertFault(400, 'badRequest', self._create(body, before))
            code, _data, _ = self._create(body, since)
            self.assertEqual(202, code, field)

    def test_user_data_must_be_base64(self):
        self.assertFault(400, 'badRequest', self._create(
            _create_body(user_data='not base64!')))

    def test_forced_host_is_admin_only(self):
        self.assertFault(403, 'forbidden', self._create(
            _create_body(availability_zone='nova:host1')))
        code, _data, _ = self._create(
            _create_body(availability_zone='nova:host1'), token='admin:a')
        self.assertEqual(202, code)

    def test_legacy_bdm_is_converted(self):
        volume = str(uuid.uuid4())
        body = _create_body(block_device_mapping=[
            {'volume_id': volume, 'device_name': 'vda'}])
        del body['server']['imageRef']
        code, data, _ = self._create(body)
        self.assertEqual(202, code, data)
        bdm = self._kwargs()[1]['block_device_mapping'][0]
        self.assertEqual(('volume', volume, 0),
                         (bdm['source_type'], bdm['volume_id'],
                          bdm['boot_index']))

    def test_mixed_bdm_syntaxes_are_400(self):
        self.assertFault(400, 'badRequest', self._create(_create_body(
            block_device_mapping=[{'volume_id': str(uuid.uuid4())}],
            block_device_mapping_v2=BDM)))

    def test_bad_boot_sequence_is_400(self):
        bdm = [dict(BDM[0], boot_index=1)]
        self.assertFault(400, 'badRequest', self._create(
            _create_body(block_device_mapping_v2=bdm)))

    def test_personality_rejected_from_257(self):
        self.assertFault(400, 'badRequest', self._create(
            _create_body(personality=[]), '2.57'))

    def test_huge_name_is_400(self):
        self.assertFault(400, 'badRequest', self._create(
            _create_body(name='x' * 256)))


class TestUpdateDelete(fakes.APITestCase):

    def setUp(self):
        super().setUp()
        self.server = self.compute.add_instance()
        self.path = f"/servers/{self.server['uuid']}"

    def test_update_name_and_description(self):
        code, data, _ = self.call('PUT', self.path, {'server': {
            'name': 'new', 'description': 'words'}}, version='2.19')
        self.assertEqual(200, code, data)
        self.assertEqual('new', data['server']['name'])
        self.assertEqual(('update', (self.server['uuid'],),
                          {'display_name': 'new',
                           'display_description': 'words'}),
                         self.compute.calls[-1])

    def test_update_response_is_the_full_view_from_275(self):
        _code, data, _ = self.call('PUT', self.path,
                                   {'server': {'name': 'n'}},
                                   version='2.75')
        self.assertIn('OS-EXT-STS:vm_state', data['server'])
        self.assertIn('key_name', data['server'])
        _code, data, _ = self.call('PUT', self.path,
                                   {'server': {'name': 'n'}},
                                   version='2.74')
        self.assertNotIn('OS-EXT-STS:vm_state', data['server'])
        self.assertNotIn('key_name', data['server'])
        self.assertEqual('n', data['server']['name'])

    def test_update_unknown_field_is_400(self):
        self.assertFault(400, 'badRequest', self.call(
            'PUT', self.path, {'server': {'flavorRef': '2'}}))

    def test_update_other_project_is_404(self):
        foreign = self.compute.add_instance(project_id='p2')
        self.assertFault(404, 'itemNotFound', self.call(
            'PUT', f"/servers/{foreign['uuid']}", {'server': {'name': 'x'}}))

    def test_delete_is_204(self):
        code, _data, resp = self.call('DELETE', self.path)
        self.assertEqual(204, code)
        self.assertEqual(b'', resp.body)
        self.assertEqual('delete', self.compute.calls[-1][0])

    def test_delete_other_project_is_404(self):
        foreign = self.compute.add_instance(project_id='p2')
        self.assertFault(404, 'itemNotFound', self.call(
            'DELETE', f"/servers/{foreign['uuid']}"))
        self.assertEqual([], self.compute.calls)
