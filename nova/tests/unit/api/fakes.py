"""In-memory stand-ins for the compute API, the DB API and the image API,
and a fixture serving the real paste pipeline on top of them."""

from __future__ import annotations

import copy
import datetime
import json
import re
import uuid
from typing import Any

import fixtures
import webob

import nova.conf
from nova import exception, test
from nova.api.openstack.compute import routes, wsgi_app
from nova.api.openstack.compute.flows import ApiFlows
from nova.policies import enforcer

CONF = nova.conf.CONF

IMAGE_ID = '155d900f-4e14-4e4c-a73d-069cbf4541e6'
NOW = datetime.datetime(2026, 1, 2, 3, 4, 5)


def flavor(flavorid: str = '1', name: str = 'm1.tiny', **kw: Any) -> dict:
    values = {'id': int(flavorid) if flavorid.isdigit() else 99,
              'flavorid': flavorid, 'name': name, 'memory_mb': 512,
              'vcpus': 1, 'root_gb': 1, 'ephemeral_gb': 0, 'swap': 0,
              'rxtx_factor': 1.0, 'is_public': True, 'disabled': False,
              'description': None, 'extra_specs': {'hw:cpu': 'shared'}}
    values.update(kw)
    return values


class FakeDB:
    """The parts of nova.db.api the API calls."""

    def __init__(self) -> None:
        self.flavors = {'1': flavor('1', 'm1.tiny'),
                        '2': flavor('2', 'm1.small', memory_mb=2048,
                                    root_gb=20)}
        self.keypairs: dict[tuple[str, str], dict] = {}
        self.actions: list[dict] = []
        self.events: dict[int, list[dict]] = {}
        self.services = [
            {'id': 1, 'uuid': '6a7b0a22-0c5f-4d84-8a14-3b2c8c1b3c01',
             'host': 'host1', 'binary': 'nova-compute', 'disabled': False,
             'disabled_reason': None, 'forced_down': False,
             'updated_at': None, 'last_seen_up': None,
             'created_at': NOW},
            {'id': 2, 'uuid': '6a7b0a22-0c5f-4d84-8a14-3b2c8c1b3c02',
             'host': 'ctl', 'binary': 'nova-conductor', 'disabled': False,
             'disabled_reason': None, 'forced_down': False,
             'updated_at': None, 'last_seen_up': None,
             'created_at': NOW}]
        self.nodes = [
            {'id': 1, 'uuid': '0d3b7e45-6c7a-4b7f-9a4e-6e1c2b3a4d01',
             'host': 'host1', 'hypervisor_hostname': 'node1',
             'hypervisor_type': 'fake', 'hypervisor_version': 1,
             'availability_zone': None, 'vcpus': 8, 'memory_mb': 16384,
             'local_gb': 100, 'vcpus_used': 1, 'memory_mb_used': 512,
             'local_gb_used': 1, 'running_vms': 1, 'cpu_info': '{}',
             'host_ip': '192.0.2.1'}]
        self.instances: dict[str, dict] = {}
        self.faults: dict[str, list[dict]] = {}
        #: instance UUID -> its block device mappings
        self.bdms: dict[str, list[dict]] = {}
        self.migrations: list[dict] = []
        self.aggregates: list[dict] = []
        self.groups: dict[str, dict] = {}
        #: (filters, sort_keys, sort_dirs, limit, marker) of each listing.
        self.migration_queries: list[tuple] = []
        #: (project_id, user_id or None) -> {resource: limit}
        self.quotas: dict[tuple[str, Any], dict[str, int]] = {}

    # flavors
    def flavor_get_by_flavor_id(self, ctx: Any, flavorid: str) -> dict:
        try:
            return copy.deepcopy(self.flavors[str(flavorid)])
        except KeyError:
            raise exception.FlavorNotFound(flavor_id=flavorid) from None

    def flavor_get_all(self, ctx: Any, filters: Any = None,
                       sort_key: str = 'flavorid', sort_dir: str = 'asc',
                       limit: Any = None, marker: Any = None) -> list:
        items = sorted(self.flavors.values(), key=lambda f: f[sort_key],
                       reverse=sort_dir == 'desc')
        project = (filters or {}).get('project_id')
        if project is not None:
            # Public ones and the private ones shared with the project.
            items = [f for f in items if f.get('is_public', True)
                     or project in f.get('projects', ())]
        if marker is not None:
            ids = [f['flavorid'] for f in items]
            if marker not in ids:
                raise exception.NotFound(f'Marker {marker} not found')
            items = items[ids.index(marker) + 1:]
        return copy.deepcopy(items[:limit] if limit else items)

    def flavor_access_get_by_flavor_id(self, ctx: Any,
                                       flavorid: str) -> list:
        return [{'flavor_id': flavorid, 'project_id': project}
                for project in self.flavors[flavorid].get('projects', ())]

    def flavor_create(self, ctx: Any, values: dict) -> dict:
        if values['flavorid'] in self.flavors:
            raise exception.FlavorIdExists(flavor_id=values['flavorid'])
        values = dict(values, id=len(self.flavors) + 10, disabled=False,
                      extra_specs={})
        self.flavors[values['flavorid']] = values
        return copy.deepcopy(values)

    def flavor_update(self, ctx: Any, flavorid: str, values: dict) -> dict:
        self.flavors[flavorid].update(values)
        return dict(values)

    def flavor_destroy(self, ctx: Any, flavorid: str) -> None:
        del self.flavors[flavorid]

    def flavor_extra_specs_update_or_create(self, ctx: Any, flavorid: str,
                                            specs: dict) -> None:
        self.flavors[flavorid]['extra_specs'].update(specs)

    def flavor_extra_specs_delete(self, ctx: Any, flavorid: str,
                                  key: str) -> None:
        del self.flavors[flavorid]['extra_specs'][key]

    # key pairs
    def key_pair_create(self, ctx: Any, values: dict) -> dict:
        key = (values['user_id'], values['name'])
        if key in self.keypairs:
            raise exception.KeyPairExists(key_name=values['name'])
        values = dict(values, id=len(self.keypairs) + 1, created_at=NOW,
                      updated_at=None)
        self.keypairs[key] = values
        return dict(values)

    def key_pair_get(self, ctx: Any, user_id: str, name: str) -> dict:
        try:
            return dict(self.keypairs[(user_id, name)])
        except KeyError:
            raise exception.KeypairNotFound(name=name,
                                            user_id=user_id) from None

    def key_pair_get_all_by_user(self, ctx: Any, user_id: str,
                                 limit: Any = None,
                                 marker: Any = None) -> list:
        return [dict(v) for (u, _n), v in sorted(self.keypairs.items())
                if u == user_id]

    def key_pair_destroy(self, ctx: Any, user_id: str, name: str) -> None:
        self.key_pair_get(ctx, user_id, name)
        del self.keypairs[(user_id, name)]

    # instance actions
    def add_action(self, instance_uuid: str, action: str, request_id: str,
                   events: list[dict], project_id: str = 'p1') -> None:
        action_id = len(self.actions) + 1
        self.actions.append({
            'id': action_id, 'action': action,
            'instance_uuid': instance_uuid, 'request_id': request_id,
            'user_id': 'u1', 'project_id': project_id, 'start_time': NOW,
            'finish_time': NOW, 'message': None, 'created_at': NOW,
            'updated_at': NOW})
        self.events[action_id] = events

    def actions_get(self, ctx: Any, instance_uuid: str, limit: Any = None,
                    marker: Any = None, filters: Any = None) -> list:
        found = [a for a in self.actions
                 if a['instance_uuid'] == instance_uuid][::-1]
        return found[:limit] if limit else found

    def action_get_by_request_id(self, ctx: Any, instance_uuid: str,
                                 request_id: str) -> dict | None:
        for action in self.actions:
            if action['instance_uuid'] == instance_uuid and \
                    action['request_id'] == request_id:
                return action
        return None

    def action_events_get(self, ctx: Any, action_id: int) -> list:
        return list(self.events.get(action_id, []))

    def instance_get_by_uuid(self, ctx: Any, instance_uuid: str,
                             read_deleted: Any = None) -> dict:
        try:
            return self.instances[instance_uuid]
        except KeyError:
            raise exception.InstanceNotFound(
                instance_id=instance_uuid) from None

    def instance_fault_get_by_instance_uuids(self, ctx: Any, uuids: Any,
                                             latest: bool = False) -> dict:
        return {u: list(self.faults.get(u, [])) for u in uuids}

    def block_device_mapping_get_all_by_instance_uuids(
            self, ctx: Any, uuids: Any) -> dict:
        return {u: [dict(b) for b in self.bdms.get(u, [])] for u in uuids}

    # services and nodes
    def service_get_all(self, ctx: Any, disabled: Any = None,
                        binary: Any = None, host: Any = None) -> list:
        return [dict(s) for s in self.services
                if (binary is None or s['binary'] == binary) and
                (host is None or s['host'] == host)]

    def service_get(self, ctx: Any, service_id: int) -> dict:
        for service in self.services:
            if service['id'] == service_id:
                return dict(service)
        raise exception.ServiceNotFound(service_id=service_id)

    def service_get_by_uuid(self, ctx: Any, service_uuid: str) -> dict:
        for service in self.services:
            if service['uuid'] == service_uuid:
                return dict(service)
        raise exception.ServiceNotFound(service_id=service_uuid)

    def service_update(self, ctx: Any, service_id: int,
                       values: dict) -> dict:
        for service in self.services:
            if service['id'] == service_id:
                service.update(values)
                return values
        raise exception.ServiceNotFound(service_id=service_id)

    def service_destroy(self, ctx: Any, service_id: int) -> None:
        self.services = [s for s in self.services if s['id'] != service_id]

    def aggregate_get_all(self, ctx: Any) -> list:
        return [dict(a) for a in self.aggregates]

    def instance_group_get_by_instance(self, ctx: Any,
                                       instance_uuid: str) -> Any:
        for group in self.groups.values():
            if instance_uuid in [m['instance_uuid']
                                 for m in group['members']]:
                return dict(group)
        return None

    def instance_group_get(self, ctx: Any, group_uuid: str) -> dict:
        if group_uuid not in self.groups:
            raise exception.InstanceGroupNotFound(group_uuid=group_uuid)
        return dict(self.groups[group_uuid])

    def compute_node_get_all(self, ctx: Any) -> list:
        return [dict(n) for n in self.nodes]

    def compute_node_get(self, ctx: Any, node_id: int) -> dict:
        for node in self.nodes:
            if node['id'] == node_id:
                return dict(node)
        raise exception.HypervisorNotFound(hypervisor_id=node_id)

    def compute_node_get_by_uuid(self, ctx: Any, node_uuid: str) -> dict:
        for node in self.nodes:
            if node['uuid'] == node_uuid:
                return dict(node)
        raise exception.HypervisorNotFound(hypervisor_id=node_uuid)

    # migrations
    def add_migration(self, **values: Any) -> dict:
        migration_id = len(self.migrations) + 1
        migration = {
            'id': migration_id, 'uuid': str(uuid.uuid4()),
            'instance_uuid': str(uuid.uuid4()), 'source_compute': 'host1',
            'dest_compute': 'host2', 'source_node': 'node1',
            'dest_node': 'node2', 'dest_host': '192.0.2.2',
            'old_instance_type_id': 1, 'new_instance_type_id': 1,
            'status': 'running', 'migration_type': 'live-migration',
            'hidden': False, 'memory_total': 1024,
            'memory_processed': 512, 'memory_remaining': 512,
            'disk_total': 2048, 'disk_processed': 1024,
            'disk_remaining': 1024, 'user_id': 'u1', 'project_id': 'p1',
            'created_at': NOW + datetime.timedelta(minutes=migration_id),
            'updated_at': None, 'deleted': 0}
        migration.update(values)
        self.migrations.append(migration)
        return migration

    def migration_get(self, ctx: Any, migration_id: int) -> dict:
        for migration in self.migrations:
            if migration['id'] == migration_id:
                return dict(migration)
        raise exception.MigrationNotFound(migration_id=migration_id)

    def migration_get_in_progress_by_instance(
            self, ctx: Any, instance_uuid: str,
            migration_type: Any = None) -> list:
        final = ('confirmed', 'reverted', 'error', 'failed', 'completed',
                 'cancelled', 'done')
        return [dict(m) for m in reversed(self.migrations)
                if m['instance_uuid'] == instance_uuid and
                m['status'] not in final and
                migration_type in (None, m['migration_type'])]

    def migration_get_all_by_filters(self, ctx: Any, filters: dict,
                                     sort_keys: Any = None,
                                     sort_dirs: Any = None,
                                     limit: Any = None,
                                     marker: Any = None) -> list:
        """Equality filters (host: either side), newest first."""
        self.migration_queries.append((dict(filters), sort_keys, sort_dirs,
                                       limit, marker))
        ordered = sorted(self.migrations, key=lambda m: (
            m['created_at'], m['id']), reverse=True)
        if marker is not None:
            uuids = [m['uuid'] for m in ordered]
            if marker not in uuids:
                raise exception.MarkerNotFound(marker=marker)
            ordered = ordered[uuids.index(marker) + 1:]
        found = []
        for migration in ordered:
            host = filters.get('host')
            if host is not None and host not in (
                    migration['source_compute'], migration['dest_compute']):
                continue
            if any(migration[key] != value
                   for key, value in filters.items()
                   if key in migration and key != 'host'):
                continue
            found.append(dict(migration))
        return found if limit is None else found[:limit]

    def instance_usage_by_project(self, ctx: Any, project_id: str,
                                  user_id: Any = None) -> dict:
        mine = [i for i in self.instances.values()
                if i['project_id'] == project_id and
                user_id in (None, i.get('user_id'))]
        return {'instances': len(mine),
                'cores': sum(i['flavor']['vcpus'] for i in mine),
                'ram': sum(i['flavor']['memory_mb'] for i in mine)}

    # quotas
    def quota_get_all_by_project(self, ctx: Any, project_id: str) -> dict:
        return dict(self.quotas.get((project_id, None), {}))

    def quota_get_all_by_project_and_user(self, ctx: Any, project_id: str,
                                          user_id: str) -> dict:
        return dict(self.quotas.get((project_id, user_id), {}))

    def quota_set(self, ctx: Any, project_id: str, limits: dict,
                  user_id: Any = None) -> None:
        self.quotas.setdefault((project_id, user_id), {}).update(limits)

    def quota_destroy_all_by_project(self, ctx: Any,
                                     project_id: str) -> None:
        for key in [k for k in self.quotas if k[0] == project_id]:
            del self.quotas[key]

    def quota_destroy_all_by_project_and_user(self, ctx: Any,
                                              project_id: str,
                                              user_id: str) -> None:
        self.quotas.pop((project_id, user_id), None)

    def key_pair_count_by_user(self, ctx: Any, user_id: str) -> int:
        return sum(1 for k in self.keypairs if k[0] == user_id)


class FakeNetworkAPI:
    """Security groups ``default`` and ``web`` (every project's)."""

    groups = ('default', 'web')

    def validate_security_groups(self, ctx: Any,
                                 names: list[str]) -> list[dict]:
        from nova import exception
        for name in names:
            if name not in self.groups:
                raise exception.SecurityGroupNotFound(
                    f"Unable to find security_group with name or id "
                    f"'{name}'")
        return [{'id': f'sg-{name}', 'name': name} for name in names]

    def validate_networks(self, ctx: Any, requested_networks: Any,
                          num_instances: int) -> int:
        return num_instances


class FakeComputeAPI:
    """Records calls; keeps instances in the FakeDB."""

    def __init__(self, db: FakeDB) -> None:
        self.db = db
        self.calls: list[tuple[str, tuple, dict]] = []
        self.network_api = FakeNetworkAPI()

    def add_instance(self, project_id: str = 'p1', user_id: str = 'u1',
                     **values: Any) -> dict:
        instance = {
            'uuid': str(uuid.uuid4()), 'display_name': 'server',
            'project_id': project_id, 'user_id': user_id,
            'vm_state': 'active', 'task_state': None, 'power_state': 1,
            'host': 'host1', 'node': 'node1',
            'flavor': flavor('1', 'm1.tiny'), 'image_ref': IMAGE_ID,
            'key_name': None, 'metadata': {}, 'availability_zone': 'nova',
            'launched_at': NOW, 'created_at': NOW, 'updated_at': NOW,
            'access_ip_v4': None, 'access_ip_v6': None, 'locked': False,
            'locked_by': None, 'display_description': None, 'tags': [],
            'hostname': 'server', 'config_drive': False, 'progress': 0,
            'security_groups': ['default'], 'deleted': 0,
            'terminated_at': None, 'reservation_id': 'r-1',
            'launch_index': 0,
        }
        instance.update(values)
        self.db.instances[str(instance['uuid'])] = instance
        return instance

    def _record(self, _call: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append((_call, args, kwargs))

    def create(self, ctx: Any, flavor: dict, image_href: Any, *,
               name: str, min_count: int = 1, max_count: int = 1,
               **kwargs: Any) -> tuple[list, str]:
        self._record('create', flavor, image_href, name=name,
                     min_count=min_count, max_count=max_count, **kwargs)
        instances = [self.add_instance(
            project_id=ctx.project_id, user_id=ctx.user_id,
            display_name=name, vm_state='building',
            task_state='scheduling', flavor=flavor,
            image_ref=image_href or '', metadata=kwargs.get('metadata',
                                                            {}),
            host=None) for _ in range(max_count)]
        return instances, 'r-abc'

    def get(self, ctx: Any, instance_id: str) -> dict:
        return copy.deepcopy(self.db.instance_get_by_uuid(ctx, instance_id))

    def get_all(self, ctx: Any, search_opts: dict, limit: Any = None,
                marker: Any = None, sort_keys: Any = None,
                sort_dirs: Any = None) -> list:
        self._record('get_all', search_opts, limit=limit, marker=marker)
        result = []
        for instance in self.db.instances.values():
            if 'project_id' in search_opts and \
                    instance['project_id'] != search_opts['project_id']:
                continue
            if 'name' in search_opts and not re.search(
                    search_opts['name'], instance['display_name']):
                continue
            result.append(copy.deepcopy(instance))
        return result

    def update(self, ctx: Any, instance: dict, **values: Any) -> dict:
        self._record('update', instance['uuid'], **values)
        self.db.instances[instance['uuid']].update(values)
        return dict(instance, **values)

    def __getattr__(self, name: str) -> Any:
        # Every other operation: record it, do nothing.
        def call(ctx: Any, instance: Any, *args: Any, **kwargs: Any) -> Any:
            self._record(name, instance['uuid'], *args, **kwargs)
            if name == 'snapshot':
                return {'id': 'a1b2c3d4-0000-4000-8000-000000000001'}
            if name == 'get_console_output':
                return 'console\n'
            return None
        return call


class FakeImageAPI:

    def __init__(self) -> None:
        self.images = {IMAGE_ID: {
            'id': IMAGE_ID, 'name': 'cirros', 'status': 'active',
            'min_ram': 0, 'min_disk': 0, 'size': 1024, 'properties': {},
            'created_at': NOW, 'updated_at': NOW}}

    def get(self, ctx: Any, image_id: str) -> dict:
        try:
            return dict(self.images[image_id])
        except KeyError:
            raise exception.ImageNotFound(image_id=image_id) from None

    def get_all(self, ctx: Any, filters: Any = None) -> list:
        return [dict(i) for i in self.images.values()]

    def delete(self, ctx: Any, image_id: str) -> None:
        self.get(ctx, image_id)
        del self.images[image_id]


class APIFixture(fixtures.Fixture):
    """The real paste pipeline (etc/nova/api-paste.ini) over fakes.

    ``hook_objects`` are extra hooks compiled into the API flows.
    """

    def __init__(self, hook_objects: Any = (), flows: Any = None) -> None:
        super().__init__()
        self.hook_objects = hook_objects
        self.flows = flows

    def _setUp(self) -> None:
        CONF([], project='nova', default_config_files=[])
        self.addCleanup(CONF.reset)
        # noauth2 tokens ("user:project"); the default is keystone.
        CONF.set_override('auth_strategy', 'noauth2', group='api')
        self.addCleanup(CONF.clear_override, 'auth_strategy', group='api')
        enforcer.reset()
        self.addCleanup(enforcer.reset)
        self.db = FakeDB()
        self.compute = FakeComputeAPI(self.db)
        self.images = FakeImageAPI()
        flows = self.flows or ApiFlows.load(hook_objects=self.hook_objects)

        # fixtures keeps a patched classmethod a classmethod.
        def factory(cls: Any, global_config: Any, **local: Any) -> Any:
            return routes.APIRouterV21(compute_api=self.compute,
                                       db=self.db, image_api=self.images,
                                       flows=flows)
        self.useFixture(fixtures.MonkeyPatch(
            'nova.api.openstack.compute.routes.APIRouterV21.factory',
            factory))
        self.app = wsgi_app.load_app(CONF)

    def request(self, method: str, path: str, body: Any = None, *,
                token: str | None = 'u1:p1', version: str | None = None,
                headers: dict | None = None, raw: bytes | None = None,
                ) -> webob.Response:
        req = webob.Request.blank(path, method=method)
        if token is not None:
            req.headers['X-Auth-Token'] = token
        if version is not None:
            req.headers['OpenStack-API-Version'] = f'compute {version}'
        for key, value in (headers or {}).items():
            req.headers[key] = value
        if raw is not None:
            req.body = raw
            if 'Content-Type' not in (headers or {}):
                req.content_type = 'application/json'
        elif body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = 'application/json'
        return req.get_response(self.app)


class APITestCase(test.TestCase):
    """A test case talking to the paste pipeline over the fakes."""

    hook_objects: Any = ()

    def setUp(self) -> None:
        super().setUp()
        self.api = self.useFixture(APIFixture(self.hook_objects))
        self.db = self.api.db
        self.compute = self.api.compute

    def call(self, method: str, path: str, body: Any = None, *,
             version: str | None = None, token: str | None = 'u1:p1',
             headers: dict | None = None, raw: bytes | None = None,
             ) -> tuple[int, Any, webob.Response]:
        resp = self.api.request(method, '/v2.1' + path, body,
                                version=version, token=token,
                                headers=headers, raw=raw)
        data = json.loads(resp.body) if resp.body else None
        return resp.status_int, data, resp

    def admin(self, method: str, path: str, body: Any = None,
              **kwargs: Any) -> tuple[int, Any, webob.Response]:
        return self.call(method, path, body, token='admin:admin', **kwargs)

    def assertFault(self, expected_code: int, name: str,
                    result: tuple[int, Any, webob.Response]) -> dict:
        code, data, _resp = result
        self.assertEqual(expected_code, code, data)
        self.assertEqual([name], list(data))
        self.assertEqual(expected_code, data[name]['code'])
        self.assertIsInstance(data[name]['message'], str)
        return data[name]
