"""os-instance-actions: the user requests on a server and their events.

Every compute operation is a flow whose stages are recorded as the
action's events (one per stage), so ``openstack server event show`` lists
the stages that ran, their result and (for admins) the traceback; a stage
undone after a later failure adds the event ``<stage ID>:revert``.
"""

from __future__ import annotations

from typing import Any

from nova import exception
from nova.api.openstack import common, wsgi
from nova.api.openstack.compute import helpers
from nova.api.openstack.compute.flows.server_view import host_id
from nova.api.validation import parameter_types as types
from nova.api.validation import query_dict, validators

IA = 'os_compute_api:os-instance-actions:%s'


def list_query(version: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    if version >= '2.58':
        properties.update({
            'limit': types.single_param(types.non_negative_integer),
            'marker': types.single_param({'type': 'string'}),
            'changes-since': types.single_param({'type': 'string',
                                                 'format': 'date-time'}),
        })
    if version >= '2.66':
        properties['changes-before'] = types.single_param(
            {'type': 'string', 'format': 'date-time'})
    return {'type': 'object', 'properties': properties,
            'additionalProperties': version < '2.75'}


def _result(value: Any) -> str | None:
    """'Success' or 'Error', as upstream spells event results."""
    if value is None:
        return None
    text = str(value).lower()
    if text in ('success', 'succeeded', 'reverted'):
        return 'Success'
    if text in ('error', 'failed', 'revert_failed'):
        return 'Error'
    return str(value).capitalize()


class InstanceActionsController:

    def __init__(self, compute_api: Any, db: Any) -> None:
        self.compute_api = compute_api
        self.db = db

    def _instance(self, req: wsgi.Request, server_id: str) -> Any:
        ctx = req.context
        try:
            return helpers.get_instance(self.compute_api, ctx, server_id)
        except exception.InstanceNotFound:
            # 2.21: the actions of a deleted server stay visible.
            if not req.is_microversion('2.21') or \
                    not helpers.is_uuid_like(server_id):
                raise
        instance = self.db.instance_get_by_uuid(ctx, server_id,
                                                read_deleted='yes')
        if not ctx.is_admin and common.get(instance, 'project_id') != \
                ctx.project_id:
            raise exception.InstanceNotFound(instance_id=server_id)
        return instance

    def _action_view(self, req: wsgi.Request, action: Any,
                     ) -> dict[str, Any]:
        view = {
            'action': common.get(action, 'action'),
            'instance_uuid': common.get(action, 'instance_uuid'),
            'request_id': common.get(action, 'request_id'),
            'user_id': common.get(action, 'user_id'),
            'project_id': common.get(action, 'project_id'),
            'start_time': common.usage_time(common.get(action,
                                                       'start_time')),
            'message': common.get(action, 'message'),
        }
        if req.is_microversion('2.58'):
            view['updated_at'] = common.usage_time(
                common.get(action, 'updated_at') or
                common.get(action, 'created_at'))
        return view

    def _event_view(self, req: wsgi.Request, event: Any, project_id: str,
                    show_internals: bool, show_details: bool,
                    ) -> dict[str, Any]:
        view: dict[str, Any] = {
            'event': common.get(event, 'event'),
            'start_time': common.usage_time(common.get(event,
                                                       'start_time')),
            'finish_time': common.usage_time(common.get(event,
                                                        'finish_time')),
            'result': _result(common.get(event, 'result')),
        }
        if show_internals:
            view['traceback'] = common.get(event, 'traceback')
        if req.is_microversion('2.62'):
            host = common.get(event, 'host')
            view['hostId'] = host_id(project_id, host)
            if show_internals:
                view['host'] = host or ''
        if req.is_microversion('2.84') and show_details:
            view['details'] = common.get(event, 'details')
        return view

    def _revert_view(self, req: wsgi.Request, event: Any, project_id: str,
                     show_internals: bool, show_details: bool,
                     ) -> dict[str, Any]:
        """The revert of a stage, as an event of its own.

        A stage that completed and was later undone keeps its own event
        (its result is what the stage did); its revert is the event
        ``<stage ID>:revert`` (as a recovery is ``<flow>:recovery``), with
        the standard fields only, so every client shows it: result
        Success when the stage was undone, Error when its revert failed
        (the revert's traceback for those allowed internals).  The record
        keeps one row per stage, so the revert's time is when it was
        recorded.
        """
        failed = common.get(event, 'revert_result') != 'reverted'
        when = common.usage_time(common.get(event, 'updated_at'))
        view: dict[str, Any] = {
            'event': f"{common.get(event, 'event')}:revert",
            'start_time': when,
            'finish_time': when,
            'result': 'Error' if failed else 'Success',
        }
        if show_internals:
            view['traceback'] = common.get(event, 'details') if failed \
                else None
        if req.is_microversion('2.62'):
            host = common.get(event, 'host')
            view['hostId'] = host_id(project_id, host)
            if show_internals:
                view['host'] = host or ''
        if req.is_microversion('2.84') and show_details:
            view['details'] = 'The revert of this stage failed.' \
                if failed else 'The stage was reverted.'
        return view

    def index(self, req: wsgi.Request, server_id: str) -> dict[str, Any]:
        """GET /servers/{id}/os-instance-actions."""
        ctx = req.context
        version = req.api_version_request
        validators.validate(list_query(version), query_dict(req),
                            query=True)
        instance = self._instance(req, server_id)
        helpers.authorize(ctx, IA % 'list', instance)
        limit = marker = None
        filters: dict[str, Any] = {}
        if version >= '2.58':
            limit, marker = common.pagination_params(req)
            for key in ('changes-since', 'changes-before'):
                if key in req.GET:
                    filters[key] = common.parse_time(req.GET[key], key)
        actions = self.db.actions_get(ctx, common.get(instance, 'uuid'),
                                      limit=limit, marker=marker,
                                      filters=filters)
        views = [self._action_view(req, a) for a in actions]
        result: dict[str, Any] = {'instanceActions': views}
        if version >= '2.58' and 'limit' in req.GET:
            links = common.next_link(
                req, f'servers/{server_id}/os-instance-actions', views,
                limit, key='request_id')
            if links:
                result['links'] = links
        return result

    def show(self, req: wsgi.Request, server_id: str,
             id: str) -> dict[str, Any]:
        """GET /servers/{id}/os-instance-actions/{request_id}."""
        ctx = req.context
        instance = self._instance(req, server_id)
        helpers.authorize(ctx, IA % 'show', instance)
        uuid = common.get(instance, 'uuid')
        action = self.db.action_get_by_request_id(ctx, uuid, id)
        if action is None:
            raise exception.InstanceActionNotFound(request_id=id,
                                                   instance_uuid=uuid)
        view = self._action_view(req, action)
        internals = helpers.authorize(ctx, IA % 'events', instance,
                                      fatal=False)
        # Before 2.51 only those allowed to see internals saw events.
        if req.is_microversion('2.51') or internals:
            details = helpers.authorize(ctx, IA % 'events:details',
                                        instance, fatal=False)
            events = self.db.action_events_get(ctx, common.get(action,
                                                               'id'))
            project_id = common.get(instance, 'project_id')
            view['events'] = [
                self._revert_view(req, e, project_id, internals, details)
                for e in reversed(events)
                if common.get(e, 'revert_result')] + [
                self._event_view(req, e, project_id, internals, details)
                for e in events]
        return {'instanceAction': view}
