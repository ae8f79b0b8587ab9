"""The v2.1 router: every path of the API and the controller serving it.

Each route is also reachable below ``/{project_id}`` (the URL form before
2.18); the resource checks the project matches the caller's.
"""

from __future__ import annotations

from typing import Any

import routes
import routes.middleware
import webob.dec

from nova.api.openstack import wsgi
from nova.api.openstack.compute import (
    aggregates,
    attach_interfaces,
    availability_zone,
    flavors,
    flow_extensions,
    hypervisors,
    images,
    instance_actions,
    keypairs,
    limits,
    migrations,
    quota_sets,
    remote_consoles,
    security_groups,
    server_actions,
    server_diagnostics,
    server_external_events,
    server_groups,
    server_metadata,
    server_migrations,
    server_password,
    server_tags,
    servers,
    services,
    simple_tenant_usage,
    volume_attachments,
)
from nova.api.openstack.compute.flows import ApiFlows

# (method, path, resource key, controller method), in match order.
ROUTES: tuple[tuple[str, str, str, str], ...] = (
    ('GET', '/servers', 'servers', 'index'),
    ('GET', '/servers/detail', 'servers', 'detail'),
    ('POST', '/servers', 'servers', 'create'),
    ('GET', '/servers/{id}', 'servers', 'show'),
    ('PUT', '/servers/{id}', 'servers', 'update'),
    ('DELETE', '/servers/{id}', 'servers', 'delete'),
    ('POST', '/servers/{id}/action', 'servers', 'action'),
    ('POST', '/servers/{server_id}/remote-consoles', 'remote_consoles',
     'create'),
    ('GET', '/servers/{server_id}/os-security-groups',
     'server_security_groups', 'index'),
    ('GET', '/servers/{server_id}/os-instance-actions', 'actions', 'index'),
    ('GET', '/servers/{server_id}/os-instance-actions/{id}', 'actions',
     'show'),
    ('GET', '/servers/{server_id}/os-volume_attachments', 'volumes',
     'index'),
    ('POST', '/servers/{server_id}/os-volume_attachments', 'volumes',
     'create'),
    ('GET', '/servers/{server_id}/os-volume_attachments/{id}', 'volumes',
     'show'),
    ('DELETE', '/servers/{server_id}/os-volume_attachments/{id}', 'volumes',
     'delete'),
    ('GET', '/servers/{server_id}/os-interface', 'interfaces', 'index'),
    ('POST', '/servers/{server_id}/os-interface', 'interfaces', 'create'),
    ('GET', '/servers/{server_id}/os-interface/{id}', 'interfaces', 'show'),
    ('DELETE', '/servers/{server_id}/os-interface/{id}', 'interfaces',
     'delete'),
    ('GET', '/servers/{server_id}/migrations', 'server_migrations',
     'index'),
    ('GET', '/servers/{server_id}/migrations/{id}', 'server_migrations',
     'show'),
    ('DELETE', '/servers/{server_id}/migrations/{id}', 'server_migrations',
     'delete'),
    ('POST', '/servers/{server_id}/migrations/{id}/action',
     'server_migrations', 'action'),
    ('GET', '/servers/{server_id}/metadata', 'server_metadata', 'index'),
    ('POST', '/servers/{server_id}/metadata', 'server_metadata', 'create'),
    ('PUT', '/servers/{server_id}/metadata', 'server_metadata',
     'update_all'),
    ('GET', '/servers/{server_id}/metadata/{id}', 'server_metadata',
     'show'),
    ('PUT', '/servers/{server_id}/metadata/{id}', 'server_metadata',
     'update'),
    ('DELETE', '/servers/{server_id}/metadata/{id}', 'server_metadata',
     'delete'),
    ('GET', '/servers/{server_id}/diagnostics', 'server_diagnostics',
     'index'),
    ('POST', '/os-server-external-events', 'server_external_events',
     'create'),
    ('GET', '/servers/{server_id}/os-server-password', 'server_password',
     'index'),
    ('DELETE', '/servers/{server_id}/os-server-password',
     'server_password', 'clear'),
    ('GET', '/servers/{server_id}/tags', 'server_tags', 'index'),
    ('PUT', '/servers/{server_id}/tags', 'server_tags', 'update_all'),
    ('DELETE', '/servers/{server_id}/tags', 'server_tags', 'delete_all'),
    ('GET', '/servers/{server_id}/tags/{id}', 'server_tags', 'show'),
    ('PUT', '/servers/{server_id}/tags/{id}', 'server_tags', 'update'),
    ('DELETE', '/servers/{server_id}/tags/{id}', 'server_tags', 'delete'),
    ('GET', '/flavors', 'flavors', 'index'),
    ('GET', '/flavors/detail', 'flavors', 'detail'),
    ('POST', '/flavors', 'flavors', 'create'),
    ('GET', '/flavors/{id}', 'flavors', 'show'),
    ('PUT', '/flavors/{id}', 'flavors', 'update'),
    ('DELETE', '/flavors/{id}', 'flavors', 'delete'),
    ('POST', '/flavors/{id}/action', 'flavors', 'action'),
    ('GET', '/flavors/{flavor_id}/os-flavor-access', 'flavor_access',
     'index'),
    ('GET', '/flavors/{flavor_id}/os-extra_specs', 'extra_specs', 'index'),
    ('POST', '/flavors/{flavor_id}/os-extra_specs', 'extra_specs',
     'create'),
    ('GET', '/flavors/{flavor_id}/os-extra_specs/{id}', 'extra_specs',
     'show'),
    ('PUT', '/flavors/{flavor_id}/os-extra_specs/{id}', 'extra_specs',
     'update'),
    ('DELETE', '/flavors/{flavor_id}/os-extra_specs/{id}', 'extra_specs',
     'delete'),
    ('GET', '/images', 'images', 'index'),
    ('GET', '/images/detail', 'images', 'detail'),
    ('GET', '/images/{id}', 'images', 'show'),
    ('DELETE', '/images/{id}', 'images', 'delete'),
    ('GET', '/os-keypairs', 'keypairs', 'index'),
    ('POST', '/os-keypairs', 'keypairs', 'create'),
    ('GET', '/os-keypairs/{id}', 'keypairs', 'show'),
    ('DELETE', '/os-keypairs/{id}', 'keypairs', 'delete'),
    ('GET', '/os-availability-zone', 'zones', 'index'),
    ('GET', '/os-availability-zone/detail', 'zones', 'detail'),
    ('GET', '/limits', 'limits', 'index'),
    ('GET', '/flow-extensions', 'flow_extensions', 'index'),
    ('GET', '/os-quota-sets/{id}/defaults', 'quota_sets', 'defaults'),
    ('GET', '/os-quota-sets/{id}/detail', 'quota_sets', 'detail'),
    ('GET', '/os-quota-sets/{id}', 'quota_sets', 'show'),
    ('PUT', '/os-quota-sets/{id}', 'quota_sets', 'update'),
    ('DELETE', '/os-quota-sets/{id}', 'quota_sets', 'delete'),
    ('GET', '/os-services', 'services', 'index'),
    ('PUT', '/os-services/{id}', 'services', 'update'),
    ('DELETE', '/os-services/{id}', 'services', 'delete'),
    ('GET', '/os-hypervisors', 'hypervisors', 'index'),
    ('GET', '/os-hypervisors/detail', 'hypervisors', 'detail'),
    ('GET', '/os-hypervisors/statistics', 'hypervisors', 'statistics'),
    ('GET', '/os-hypervisors/{id}', 'hypervisors', 'show'),
    ('GET', '/os-migrations', 'migrations', 'index'),
    ('GET', '/os-simple-tenant-usage', 'usage', 'index'),
    ('GET', '/os-simple-tenant-usage/{id}', 'usage', 'show'),
    ('GET', '/os-server-groups', 'server_groups', 'index'),
    ('POST', '/os-server-groups', 'server_groups', 'create'),
    ('GET', '/os-server-groups/{id}', 'server_groups', 'show'),
    ('DELETE', '/os-server-groups/{id}', 'server_groups', 'delete'),
    ('GET', '/os-aggregates', 'aggregates', 'index'),
    ('POST', '/os-aggregates', 'aggregates', 'create'),
    ('GET', '/os-aggregates/{id}', 'aggregates', 'show'),
    ('PUT', '/os-aggregates/{id}', 'aggregates', 'update'),
    ('DELETE', '/os-aggregates/{id}', 'aggregates', 'delete'),
    ('POST', '/os-aggregates/{id}/action', 'aggregates', 'action'),
)


class APIRouterV21:
    """Routes ``/v2.1/...`` requests to the controllers."""

    def __init__(self, compute_api: Any = None, db: Any = None,
                 image_api: Any = None, flows: ApiFlows | None = None,
                 ) -> None:
        if db is None:
            from nova.db import api as db
        if image_api is None:
            from nova.image import api as image_module
            image_api = image_module.API()
        if compute_api is None:
            from nova.compute import api as compute_module
            compute_api = compute_module.API(db=db, image_api=image_api)
        if flows is None:
            flows = ApiFlows.from_conf()
        self.flows = flows
        server_controller = servers.ServersController(compute_api, db,
                                                      flows)
        consoles = remote_consoles.RemoteConsolesController(compute_api,
                                                            flows)
        self.resources: dict[str, wsgi.Resource] = {
            'servers': wsgi.Resource(server_controller, [
                server_actions.ServerActionsController(compute_api),
                consoles,
                security_groups.SecurityGroupActionController(compute_api,
                                                              flows)]),
            'remote_consoles': wsgi.Resource(consoles),
            'server_security_groups': wsgi.Resource(
                security_groups.ServerSecurityGroupController(compute_api)),
            'actions': wsgi.Resource(
                instance_actions.InstanceActionsController(compute_api, db)),
            'volumes': wsgi.Resource(
                volume_attachments.VolumeAttachmentsController(compute_api)),
            'interfaces': wsgi.Resource(
                attach_interfaces.InterfaceAttachmentController(
                    compute_api)),
            'server_metadata': wsgi.Resource(
                server_metadata.ServerMetadataController(compute_api, db)),
            'server_diagnostics': wsgi.Resource(
                server_diagnostics.ServerDiagnosticsController(
                    compute_api, flows)),
            'server_external_events': wsgi.Resource(
                server_external_events.ServerExternalEventsController(
                    compute_api, flows)),
            'server_password': wsgi.Resource(
                server_password.ServerPasswordController(compute_api,
                                                         flows)),
            'server_tags': wsgi.Resource(
                server_tags.ServerTagsController(compute_api)),
            'flavors': wsgi.Resource(flavors.FlavorsController(db), [
                flavors.FlavorAccessController(db)]),
            'flavor_access': wsgi.Resource(
                flavors.FlavorAccessController(db)),
            'extra_specs': wsgi.Resource(
                flavors.FlavorExtraSpecsController(db)),
            'images': wsgi.Resource(images.ImagesController(image_api)),
            'keypairs': wsgi.Resource(keypairs.KeypairsController(db)),
            'zones': wsgi.Resource(
                availability_zone.AvailabilityZoneController(db)),
            'limits': wsgi.Resource(limits.LimitsController(db)),
            'flow_extensions': wsgi.Resource(
                flow_extensions.FlowExtensionsController(flows)),
            'quota_sets': wsgi.Resource(
                quota_sets.QuotaSetsController(db)),
            'services': wsgi.Resource(services.ServicesController(db)),
            'hypervisors': wsgi.Resource(
                hypervisors.HypervisorsController(compute_api, db)),
            'migrations': wsgi.Resource(migrations.MigrationsController(db)),
            'usage': wsgi.Resource(
                simple_tenant_usage.SimpleTenantUsageController(db)),
            'server_groups': wsgi.Resource(
                server_groups.ServerGroupController(db)),
            'aggregates': wsgi.Resource(
                aggregates.AggregateController(db)),
            'server_migrations': wsgi.Resource(
                server_migrations.ServerMigrationsController(compute_api,
                                                             db)),
        }
        self.map = routes.Mapper()
        for prefix in ('', '/{project_id}'):
            for method, path, key, action in ROUTES:
                self.map.connect(
                    prefix + path, controller=self.resources[key],
                    action=action, conditions={'method': [method]})
        # No "_method" override: Routes would parse a form post's body
        # for it (a 500 on a malformed one) and let a query string turn a
        # POST into a DELETE.  A form post gets the 415 of any body that is
        # not JSON.
        self._router = routes.middleware.RoutesMiddleware(
            self._dispatch, self.map, use_method_override=False)

    @classmethod
    def factory(cls, global_config: dict[str, Any],
                **local_config: Any) -> APIRouterV21:
        return cls()

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def __call__(self, req: wsgi.Request) -> Any:
        return self._router

    @webob.dec.wsgify(RequestClass=wsgi.Request)
    def _dispatch(self, req: wsgi.Request) -> Any:
        match = req.environ['wsgiorg.routing_args'][1]
        if not match:
            # Same path with another method: 405, as upstream.
            if any(self.map.match(req.path_info,
                                  environ={'REQUEST_METHOD': method})
                   for method in ('GET', 'POST', 'PUT', 'DELETE')):
                return wsgi.fault_response(
                    req, 405, f'The method {req.method} is not allowed for '
                              f'this resource.')
            return wsgi.fault_response(req, 404,
                                       'The resource could not be found.')
        return match['controller']
