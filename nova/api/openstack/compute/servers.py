"""Servers: list, show, create, update, delete and the core actions.

Create, update, rebuild and resize run their API flows and every server
representation is built by the ``api.server_view`` flow; see
:mod:`nova.api.openstack.compute.flows`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import webob.exc
from oslo_utils import timeutils

from nova import exception
from nova.api.openstack import common, wsgi
from nova.api.openstack.compute import helpers
from nova.api.openstack.compute.flows import (
    ApiFlows,
    server_create,
    server_rebuild,
    server_resize,
    server_update,
    server_view,
)
from nova.api.openstack.compute.schemas import servers as schemas
from nova.api.validation import query_dict, validators
from nova.policies import enforcer

S = 'os_compute_api:servers:%s'

_BOOL_FILTERS = ('locked', 'config_drive', 'deleted', 'soft_deleted',
                 'auto_disk_config')
_TAG_FILTERS = ('tags', 'tags-any', 'not-tags', 'not-tags-any')


class ServersController:

    def __init__(self, compute_api: Any, db: Any, flows: ApiFlows) -> None:
        self.compute_api = compute_api
        self.db = db
        self.flows = flows

    # -- views ------------------------------------------------------------

    def view_options(self, req: wsgi.Request) -> server_view.ViewOptions:
        """Policy answers for the whole request, checked once."""
        ctx = req.context
        own = {'project_id': ctx.project_id, 'user_id': ctx.user_id}
        return server_view.ViewOptions(
            extended_attributes=enforcer.authorize(
                ctx, 'os_compute_api:os-extended-server-attributes', own,
                fatal=False),
            host_status=enforcer.authorize(
                ctx, S % 'show:host_status', own, fatal=False),
            flavor_extra_specs=enforcer.authorize(
                ctx, 'os_compute_api:os-flavor-extra-specs:index', own,
                fatal=False),
            fault_details=bool(ctx.is_admin))

    def render(self, req: wsgi.Request, instance: Any, *, show: bool = True,
               options: server_view.ViewOptions | None = None,
               full: bool = True,
               bdms: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """One server at the request's microversion (api.server_view);
        ``bdms``: its block device mappings when the caller loaded them
        (a page at once), else loaded here for a full view."""
        if show and full and req.is_microversion('2.71') and \
                common.get(instance, 'server_groups') is None:
            # The view's server_groups (2.71+): the group the server is a
            # member of; single-server responses only, as upstream.
            group = self.db.instance_group_get_by_instance(
                req.context, common.get(instance, 'uuid'))
            instance = dict(instance,
                            server_groups=[group['uuid']] if group else [])
        if bdms is None and full:
            bdms = self.block_device_mappings(req, [instance])[
                common.get(instance, 'uuid')]
        state = server_view.ServerViewState(
            req=req, version=req.api_version_request, instance=instance,
            options=options or self.view_options(req), show=show, full=full,
            block_device_mappings=bdms)
        self.flows.run(server_view.FLOW.name, req.context, state)
        return state.server

    def block_device_mappings(self, req: wsgi.Request, instances: list[Any],
                              ) -> dict[str, list[dict[str, Any]]]:
        """The instances' block device mappings by instance UUID (one
        query for the whole page): the view shows the attached volumes.
        """
        return self.db.block_device_mapping_get_all_by_instance_uuids(
            req.context, [common.get(i, 'uuid') for i in instances])

    def with_faults(self, req: wsgi.Request,
                    instances: list[Any]) -> list[Any]:
        """Attach the latest fault of ERROR/DELETED servers (one query for
        the whole page), which their view shows."""
        failed = [common.get(i, 'uuid') for i in instances
                  if common.get(i, 'vm_state') in (common.ERROR,
                                                    common.DELETED)
                  and not common.get(i, 'fault')]
        if not failed:
            return instances
        faults = self.db.instance_fault_get_by_instance_uuids(
            req.context, failed, latest=True)
        result = []
        for instance in instances:
            found = faults.get(common.get(instance, 'uuid'))
            if found:
                instance = dict(instance, fault=found[0])
            result.append(instance)
        return result

    def renderer(self, req: wsgi.Request) -> Callable[[Any], dict]:
        """The view of update and rebuild responses: short before 2.75,
        the same as GET from 2.75."""
        options = self.view_options(req)
        full = req.is_microversion('2.75')
        return lambda instance: self.render(req, instance, options=options,
                                            full=full)

    # -- list ------------------------------------------------------------

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        """GET /servers: id, name and links of each server."""
        instances, limit = self._list(req, 'index')
        servers = [{'id': common.get(i, 'uuid'),
                    'name': common.get(i, 'display_name') or '',
                    'links': common.self_links(req, 'servers',
                                               common.get(i, 'uuid'))}
                   for i in instances]
        return self._page(req, servers, limit)

    def detail(self, req: wsgi.Request) -> dict[str, Any]:
        """GET /servers/detail."""
        instances, limit = self._list(req, 'detail')
        instances = self.with_faults(req, instances)
        options = self.view_options(req)
        bdms = self.block_device_mappings(req, instances)
        servers = [self.render(req, i, show=False, options=options,
                               bdms=bdms[common.get(i, 'uuid')])
                   for i in instances]
        return self._page(req, servers, limit)

    @staticmethod
    def _page(req: wsgi.Request, servers: list[dict[str, Any]],
              limit: int | None) -> dict[str, Any]:
        result: dict[str, Any] = {'servers': servers}
        links = common.next_link(req, 'servers', servers, limit)
        if links:
            result['servers_links'] = links
        return result

    def _list(self, req: wsgi.Request, kind: str,
              ) -> tuple[list[Any], int | None]:
        ctx = req.context
        enforcer.authorize(ctx, S % kind)
        version = req.api_version_request
        validators.validate(schemas.list_query(version), query_dict(req),
                            query=True)
        opts, all_tenants = self._search_options(req, kind)
        limit, marker = common.pagination_params(req)
        sort_keys = req.GET.getall('sort_key')
        sort_dirs = req.GET.getall('sort_dir')
        if not ctx.is_admin and any(k in schemas.ADMIN_SORT_KEYS
                                    for k in sort_keys):
            raise webob.exc.HTTPForbidden(
                explanation='Only admins may sort servers by host or node')
        if not all_tenants:
            opts['project_id'] = ctx.project_id
        try:
            instances = self.compute_api.get_all(
                ctx, opts, limit=limit, marker=marker,
                sort_keys=sort_keys or None, sort_dirs=sort_dirs or None)
        except exception.MarkerNotFound:
            # Upstream answers an unknown marker with 400.
            raise webob.exc.HTTPBadRequest(
                explanation=f'marker [{marker}] not found') from None
        # The compute API filters; filtering again here is idempotent and
        # keeps project isolation and the documented filters true whatever
        # the backend honours.
        instances = [i for i in instances if _matches(i, opts)]
        return instances[:limit], limit

    def _search_options(self, req: wsgi.Request, kind: str,
                        ) -> tuple[dict[str, Any], bool]:
        ctx = req.context
        version = req.api_version_request
        allowed: set[str] = set()
        for since, names in schemas.USER_FILTERS:
            if version >= since:
                allowed.update(names)
        if enforcer.authorize(ctx, S % 'allow_all_filters', fatal=False):
            allowed.update(schemas.ADMIN_FILTERS)
        opts: dict[str, Any] = {}
        for key in allowed:
            values = req.GET.getall(key)
            if not values:
                continue
            if key == 'status':
                vm_states: list[str] = []
                task_states: list[str] | None = []
                if version < '2.38' and any(
                        v.upper() not in common.VALID_STATUSES
                        for v in values):
                    # Before 2.38 an unknown status matched nothing.
                    opts['vm_state'] = []
                    continue
                for status in values:
                    vms, tasks = common.states_from_status(status)
                    vm_states.extend(v for v in vms if v not in vm_states)
                    if tasks is None or task_states is None:
                        task_states = None
                    else:
                        task_states.extend(tasks)
                opts['vm_state'] = vm_states
                if task_states:
                    opts['task_state'] = task_states
            elif key in ('changes-since', 'changes-before'):
                opts[key] = common.parse_time(values[-1], key)
            elif key in _BOOL_FILTERS:
                opts[key] = common.bool_from_string(values[-1])
            elif key in _TAG_FILTERS:
                tags = [t for v in values for t in v.split(',') if t]
                if len(tags) > MAX_TAG_FILTER:
                    # A server has at most 50 tags (upstream's
                    # MAX_TAG_COUNT); a longer list only builds a query
                    # the database refuses.
                    raise webob.exc.HTTPBadRequest(
                        explanation=f'Invalid {key} filter: at most '
                                    f'{MAX_TAG_FILTER} tags')
                opts[key] = tags
            elif key in ('name', 'ip', 'ip6'):
                problem = regex_problem(values[-1])
                if problem:
                    raise webob.exc.HTTPBadRequest(
                        explanation=f'Invalid {key} filter: {problem}')
                opts[key] = values[-1]
            elif key == 'all_tenants':
                continue
            else:
                opts[key] = values[-1]
        if 'changes-since' in opts and 'changes-before' in opts and \
                opts['changes-since'] > opts['changes-before']:
            raise webob.exc.HTTPBadRequest(
                explanation='The value of changes-since must be less than '
                            'or equal to changes-before.')
        if 'tenant_id' in opts:
            opts['project_id'] = opts.pop('tenant_id')
        if 'deleted' not in opts and 'changes-since' not in opts and \
                'changes-before' not in opts:
            opts['deleted'] = False
        all_tenants = 'all_tenants' in req.GET and \
            req.GET['all_tenants'].lower() not in ('0', 'false', 'off',
                                                    'no')
        if all_tenants:
            enforcer.authorize(ctx, S % f'{kind}:get_all_tenants')
        elif 'project_id' in opts and opts['project_id'] != ctx.project_id:
            # A project filter only makes sense across projects.
            all_tenants = ctx.is_admin
        return opts, all_tenants

    # -- one server --------------------------------------------------------

    def show(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        """GET /servers/{id}."""
        ctx = req.context
        instance = helpers.get_instance(self.compute_api, ctx, id)
        helpers.authorize(ctx, S % 'show', instance)
        instance = self.with_faults(req, [instance])[0]
        return {'server': self.render(req, instance)}

    @wsgi.response(202)
    def create(self, req: wsgi.Request, body: dict[str, Any],
               ) -> wsgi.ResponseObject:
        """POST /servers: the api.server_create flow."""
        flow = server_create.FLOW.name
        validators.validate(
            self.flows.schema(flow, req.api_version_request), body)
        state = server_create.ServerCreateState(
            req=req, version=req.api_version_request,
            compute_api=self.compute_api, db=self.db, body=body)
        self.flows.run(flow, req.context, state)
        return wsgi.ResponseObject(state.response, headers=state.headers)

    def update(self, req: wsgi.Request, id: str,
               body: dict[str, Any]) -> dict[str, Any]:
        """PUT /servers/{id}: the api.server_update flow."""
        state = self._run_instance_flow(
            req, id, body, server_update.FLOW.name,
            lambda instance: server_update.ServerUpdateState(
                req=req, version=req.api_version_request,
                compute_api=self.compute_api, instance=instance, body=body,
                render=self.renderer(req)))
        assert state.response is not None
        return state.response

    def _run_instance_flow(self, req: wsgi.Request, id: str,
                           body: dict[str, Any], flow: str,
                           make_state: Callable[[dict[str, Any]], Any],
                           ) -> Any:
        """Validate ``body`` against ``flow``'s schema (hooks' fragments
        included), then run the flow on the instance; returns its state.
        """
        validators.validate(
            self.flows.schema(flow, req.api_version_request), body)
        instance = helpers.get_instance(self.compute_api, req.context, id)
        state = make_state(instance)
        self.flows.run(flow, req.context, state)
        return state

    @wsgi.response(204)
    def delete(self, req: wsgi.Request, id: str) -> None:
        """DELETE /servers/{id}."""
        ctx = req.context
        instance = helpers.get_instance(self.compute_api, ctx, id)
        helpers.authorize(ctx, S % 'delete', instance)
        self.compute_api.delete(ctx, instance)

    # -- actions -----------------------------------------------------------

    def _instance(self, req: wsgi.Request, id: str, rule: str) -> Any:
        instance = helpers.get_instance(self.compute_api, req.context, id)
        helpers.authorize(req.context, rule, instance)
        return instance

    @wsgi.response(202)
    @wsgi.action('reboot')
    def reboot(self, req: wsgi.Request, id: str,
               body: dict[str, Any]) -> None:
        validators.validate(schemas.reboot, body)
        instance = self._instance(req, id, S % 'reboot')
        self.compute_api.reboot(req.context, instance,
                                body['reboot']['type'].upper())

    @wsgi.response(202)
    @wsgi.action('os-stop')
    def stop(self, req: wsgi.Request, id: str, body: dict[str, Any]) -> None:
        validators.validate(schemas.null_action('os-stop'), body)
        instance = self._instance(req, id, S % 'stop')
        self.compute_api.stop(req.context, instance)

    @wsgi.response(202)
    @wsgi.action('os-start')
    def start(self, req: wsgi.Request, id: str,
              body: dict[str, Any]) -> None:
        validators.validate(schemas.null_action('os-start'), body)
        instance = self._instance(req, id, S % 'start')
        self.compute_api.start(req.context, instance)

    @wsgi.response(202)
    @wsgi.action('rebuild')
    def rebuild(self, req: wsgi.Request, id: str,
                body: dict[str, Any]) -> dict[str, Any]:
        """The api.server_rebuild flow."""
        state = self._run_instance_flow(
            req, id, body, server_rebuild.FLOW.name,
            lambda instance: server_rebuild.ServerRebuildState(
                req=req, version=req.api_version_request,
                compute_api=self.compute_api, instance=instance, body=body,
                render=self.renderer(req)))
        assert state.response is not None
        return state.response

    @wsgi.response(202)
    @wsgi.action('resize')
    def resize(self, req: wsgi.Request, id: str,
               body: dict[str, Any]) -> None:
        """The api.server_resize flow."""
        self._run_instance_flow(
            req, id, body, server_resize.FLOW.name,
            lambda instance: server_resize.ServerResizeState(
                req=req, version=req.api_version_request,
                compute_api=self.compute_api, db=self.db, instance=instance,
                body=body))

    @wsgi.response(204)
    @wsgi.action('confirmResize')
    def confirm_resize(self, req: wsgi.Request, id: str,
                       body: dict[str, Any]) -> None:
        validators.validate(schemas.null_action('confirmResize'), body)
        instance = self._instance(req, id, S % 'confirm_resize')
        self.compute_api.confirm_resize(req.context, instance)

    @wsgi.response(202)
    @wsgi.action('revertResize')
    def revert_resize(self, req: wsgi.Request, id: str,
                      body: dict[str, Any]) -> None:
        validators.validate(schemas.null_action('revertResize'), body)
        instance = self._instance(req, id, S % 'revert_resize')
        self.compute_api.revert_resize(req.context, instance)

    @wsgi.response(202)
    @wsgi.action('createImage')
    def create_image(self, req: wsgi.Request, id: str,
                     body: dict[str, Any]) -> wsgi.ResponseObject:
        """Snapshot: the image ID in the body from 2.45, before that in
        the Location header."""
        validators.validate(schemas.create_image, body)
        instance = self._instance(req, id, S % 'create_image')
        entity = body['createImage']
        image = self.compute_api.snapshot(
            req.context, instance, entity['name'],
            extra_properties=entity.get('metadata') or {})
        image_id = str(common.get(image, 'id'))
        if req.is_microversion('2.45'):
            return wsgi.ResponseObject({'image_id': image_id})
        location = common.self_links(req, 'images', image_id)[0]['href']
        return wsgi.ResponseObject(None, headers={'Location': location})


def _matches(instance: Any, opts: dict[str, Any]) -> bool:
    """The filters the API guarantees, checked on one instance."""
    project = opts.get('project_id')
    if project is not None and common.get(instance, 'project_id') != \
            project:
        return False
    if 'vm_state' in opts and common.get(instance, 'vm_state') not in \
            opts['vm_state']:
        return False
    if 'task_state' in opts and common.get(instance, 'task_state') not in \
            opts['task_state']:
        return False
    if 'host' in opts and common.get(instance, 'host') != opts['host']:
        return False
    name = opts.get('name')
    if name is not None and not re.search(
            name, common.get(instance, 'display_name') or ''):
        return False
    since = opts.get('changes-since')
    if since is not None:
        updated = common.get(instance, 'updated_at') or common.get(
            instance, 'created_at')
        if updated is not None and _naive(updated) < since:
            return False
    before = opts.get('changes-before')
    if before is not None:
        updated = common.get(instance, 'updated_at') or common.get(
            instance, 'created_at')
        if updated is not None and _naive(updated) > before:
            return False
    if opts.get('deleted') is False and common.get(instance, 'deleted'):
        return False
    return True


#: The most tags a tag filter may list (a server has at most 50).
MAX_TAG_FILTER = 50
#: The longest ``name``/``ip``/``ip6`` filter pattern (a name is at most
#: 255 characters).
MAX_REGEX_LENGTH = 255

_QUANTIFIER = re.compile(r'[*+?]|\{\d*,?\d*\}')


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` is refused as a filter, or None.

    The filters are regular expressions (upstream passes them to the
    database's REGEXP); SQLite's and this API's matching use Python's
    backtracking engine, where ``(a+)+$`` takes exponential time on a
    near-miss and blocks a worker for every user.  Refused: patterns
    longer than MAX_REGEX_LENGTH, back-references, and a quantifier on a
    group that itself contains a quantifier or an alternation (the forms
    that backtrack catastrophically); what remains matches a 255-character
    name in polynomial time of low degree.
    """
    if len(pattern) > MAX_REGEX_LENGTH:
        return f'longer than {MAX_REGEX_LENGTH} characters'
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return 'not a regular expression'
    # Each open group: does it contain a quantifier or an alternation?
    groups: list[bool] = []
    unbounded = 0
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == '\\':
            following = pattern[index + 1:index + 2]
            if following.isdigit() and following != '0':
                return 'back-references are not allowed'
            index += 2
            continue
        if char == '[':
            # A character class: skip to its end.
            end = index + 1
            if pattern[end:end + 1] == '^':
                end += 1
            if pattern[end:end + 1] == ']':
                end += 1
            while end < len(pattern) and pattern[end] != ']':
                end += 2 if pattern[end] == '\\' else 1
            index = end + 1
            continue
        if char == '(':
            if pattern.startswith('(?P=', index):
                return 'back-references are not allowed'
            groups.append(False)
        elif char == ')':
            risky = groups.pop() if groups else False
            match = _QUANTIFIER.match(pattern, index + 1)
            if match and risky:
                return ('a repeated group may not contain a repetition or '
                        'an alternation (it can take exponential time)')
            if groups and (risky or match):
                groups[-1] = True
        elif char == '|':
            if groups:
                groups[-1] = True
        elif _QUANTIFIER.match(pattern, index) and \
                not pattern.startswith('(?', index - 1):
            if char in '*+' or pattern.startswith('{', index) and \
                    pattern[index:].split('}', 1)[0].endswith(','):
                unbounded += 1
            if groups:
                groups[-1] = True
        index += 1
    if unbounded > 3:
        return 'more than 3 unbounded repetitions'
    return None


def _naive(value: Any) -> Any:
    when = common.as_datetime(value)
    if when is not None and when.tzinfo is not None:
        when = timeutils.normalize_time(when)
    return when
