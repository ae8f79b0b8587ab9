"""Server actions beyond the core ones in servers.py: pause, suspend,
migrate, live-migrate, evacuate, rescue, shelve, lock, trigger crash dump,
console output.

Each checks its policy against the server's project and calls the compute
API, which refuses a server in the wrong state (InstanceInvalidState) or
locked (InstanceIsLocked) with 409; an operation whose compute flow this
cloud does not have yet comes back as ActionNotSupported (409).
"""

from __future__ import annotations

from typing import Any

import webob.exc

from nova import exception
from nova.api.openstack import common, wsgi
from nova.api.openstack.compute import helpers
from nova.api.openstack.compute.flows.base import bool_value, call_compute
from nova.api.openstack.compute.flows.server_create import (
    generate_password,
)
from nova.api.openstack.compute.schemas import server_actions as schemas
from nova.api.validation import validators
from nova.compute import availability_zones


class ServerActionsController:

    def __init__(self, compute_api: Any) -> None:
        self.compute_api = compute_api

    def _instance(self, req: wsgi.Request, id: str, rule: str) -> Any:
        instance = helpers.get_instance(self.compute_api, req.context, id)
        helpers.authorize(req.context, rule, instance)
        return instance

    def _simple(self, req: wsgi.Request, id: str, body: dict[str, Any],
                action: str, rule: str, method: str) -> None:
        validators.validate(schemas.null(action), body)
        instance = self._instance(req, id, rule)
        getattr(self.compute_api, method)(req.context, instance)

    @wsgi.response(202)
    @wsgi.action('pause')
    def pause(self, req: wsgi.Request, id: str, body: dict) -> None:
        self._simple(req, id, body, 'pause',
                     'os_compute_api:os-pause-server:pause', 'pause')

    @wsgi.response(202)
    @wsgi.action('unpause')
    def unpause(self, req: wsgi.Request, id: str, body: dict) -> None:
        self._simple(req, id, body, 'unpause',
                     'os_compute_api:os-pause-server:unpause', 'unpause')

    @wsgi.response(202)
    @wsgi.action('suspend')
    def suspend(self, req: wsgi.Request, id: str, body: dict) -> None:
        self._simple(req, id, body, 'suspend',
                     'os_compute_api:os-suspend-server:suspend', 'suspend')

    @wsgi.response(202)
    @wsgi.action('resume')
    def resume(self, req: wsgi.Request, id: str, body: dict) -> None:
        self._simple(req, id, body, 'resume',
                     'os_compute_api:os-suspend-server:resume', 'resume')

    @wsgi.response(202)
    @wsgi.action('unrescue')
    def unrescue(self, req: wsgi.Request, id: str, body: dict) -> None:
        self._simple(req, id, body, 'unrescue', 'os_compute_api:os-unrescue',
                     'unrescue')

    @wsgi.response(202)
    @wsgi.action('shelve')
    def shelve(self, req: wsgi.Request, id: str, body: dict) -> None:
        self._simple(req, id, body, 'shelve',
                     'os_compute_api:os-shelve:shelve', 'shelve')

    @wsgi.response(202)
    @wsgi.action('shelveOffload')
    def shelve_offload(self, req: wsgi.Request, id: str,
                       body: dict) -> None:
        self._simple(req, id, body, 'shelveOffload',
                     'os_compute_api:os-shelve:shelve_offload',
                     'shelve_offload')

    @wsgi.response(202)
    @wsgi.action('migrate')
    def migrate(self, req: wsgi.Request, id: str, body: dict) -> None:
        validators.validate(schemas.migrate(req.api_version_request), body)
        instance = self._instance(req, id,
                                  'os_compute_api:os-migrate-server:migrate')
        host = (body['migrate'] or {}).get('host')
        if host:
            call_compute(self.compute_api.migrate, req.context, instance,
                         host_name=host)
        else:
            self.compute_api.migrate(req.context, instance)

    @wsgi.response(202)
    @wsgi.action('os-migrateLive')
    def live_migrate(self, req: wsgi.Request, id: str, body: dict) -> None:
        validators.validate(schemas.live_migrate(req.api_version_request),
                            body)
        instance = self._instance(
            req, id, 'os_compute_api:os-migrate-server:migrate_live')
        entity = body['os-migrateLive']
        block = entity['block_migration']
        if block != 'auto':
            block = bool_value(block)
        kwargs: dict[str, Any] = {}
        # Before 2.30 a named host is taken as it is (upstream's force);
        # 2.30 to 2.67 say so with force; from 2.68 the scheduler always
        # checks it.
        if entity['host'] and (req.api_version_request < '2.30' or
                               entity.get('force')):
            kwargs['force'] = True
        try:
            self.compute_api.live_migrate(req.context, instance,
                                          entity['host'], block, **kwargs)
        except exception.ServiceUnavailable as exc:
            # The server's own compute service is down: 409, as upstream.
            raise webob.exc.HTTPConflict(
                explanation=exc.format_message()) from None

    @wsgi.action('evacuate')
    def evacuate(self, req: wsgi.Request, id: str,
                 body: dict) -> dict[str, Any] | None:
        """200 (upstream's code); adminPass in the body before 2.14."""
        version = req.api_version_request
        validators.validate(schemas.evacuate(version), body)
        instance = self._instance(req, id, 'os_compute_api:os-evacuate')
        entity = body['evacuate']
        password = entity.get('adminPass')
        kwargs: dict[str, Any] = {}
        if 'targetState' in entity:
            kwargs['target_state'] = entity['targetState']
        if 'onSharedStorage' in entity:
            kwargs['on_shared_storage'] = bool_value(
                entity['onSharedStorage'])
        if version < '2.14':
            # As upstream: on shared storage the guest keeps its disk,
            # and its password with it.
            if kwargs.get('on_shared_storage'):
                if password:
                    raise webob.exc.HTTPBadRequest(
                        explanation="admin password can't be changed on "
                                    "existing disk")
            elif not password:
                password = generate_password()
        if entity.get('force') is not None:
            kwargs['force'] = bool_value(entity['force'])
        call_compute(self.compute_api.evacuate, req.context, instance,
                     entity.get('host'), admin_password=password, **kwargs)
        if version < '2.14':
            return {'adminPass': password}
        return None

    @wsgi.action('rescue')
    def rescue(self, req: wsgi.Request, id: str,
               body: dict) -> dict[str, Any]:
        """200 with the rescue password (upstream's code)."""
        validators.validate(schemas.rescue(req.api_version_request), body)
        instance = self._instance(req, id, 'os_compute_api:os-rescue')
        entity = body['rescue'] or {}
        password = entity.get('adminPass') or generate_password()
        self.compute_api.rescue(
            req.context, instance, rescue_password=password,
            rescue_image_ref=entity.get('rescue_image_ref'))
        return {'adminPass': password}

    @wsgi.response(202)
    @wsgi.action('unshelve')
    def unshelve(self, req: wsgi.Request, id: str, body: dict) -> None:
        validators.validate(schemas.unshelve(req.api_version_request), body)
        instance = self._instance(req, id,
                                  'os_compute_api:os-shelve:unshelve')
        entity = body['unshelve'] or {}
        kwargs: dict[str, Any] = {}
        if 'availability_zone' in entity:
            zone = entity['availability_zone']
            if zone is not None and zone not in \
                    availability_zones.compute_zones(req.context,
                                                     self.compute_api.db):
                raise webob.exc.HTTPBadRequest(
                    explanation='The requested availability zone is not '
                                'available')
            kwargs['new_az'] = zone
        if entity.get('host'):
            helpers.authorize(req.context,
                              'os_compute_api:os-shelve:unshelve_to_host',
                              instance)
            kwargs['host'] = entity['host']
        call_compute(self.compute_api.unshelve, req.context, instance,
                     **kwargs)

    @wsgi.response(202)
    @wsgi.action('lock')
    def lock(self, req: wsgi.Request, id: str, body: dict) -> None:
        validators.validate(schemas.lock(req.api_version_request), body)
        instance = self._instance(req, id,
                                  'os_compute_api:os-lock-server:lock')
        reason = (body['lock'] or {}).get('locked_reason')
        self.compute_api.lock(req.context, instance, reason=reason)

    @wsgi.response(202)
    @wsgi.action('unlock')
    def unlock(self, req: wsgi.Request, id: str, body: dict) -> None:
        validators.validate(schemas.null('unlock'), body)
        instance = self._instance(req, id,
                                  'os_compute_api:os-lock-server:unlock')
        locked_by = common.get(instance, 'locked_by')
        if locked_by == 'admin' and not req.context.is_admin:
            # An admin's lock is only lifted by someone allowed to
            # override it.
            helpers.authorize(
                req.context,
                'os_compute_api:os-lock-server:unlock:unlock_override',
                instance)
        self.compute_api.unlock(req.context, instance)

    @wsgi.response(202)
    @wsgi.action('trigger_crash_dump')
    def trigger_crash_dump(self, req: wsgi.Request, id: str,
                           body: dict) -> None:
        """2.17: the guest dumps its memory (400 when the hypervisor
        cannot make it, 409 when the server is not in a state for it)."""
        if not req.is_microversion('2.17'):
            # Unknown below 2.17, like any action this version lacks.
            raise webob.exc.HTTPBadRequest(
                explanation='There is no such action: trigger_crash_dump')
        validators.validate(schemas.null('trigger_crash_dump'), body)
        instance = self._instance(
            req, id, 'os_compute_api:servers:trigger_crash_dump')
        try:
            self.compute_api.trigger_crash_dump(req.context, instance)
        except (exception.InstanceNotRunning,
                exception.ServiceUnavailable) as error:
            raise webob.exc.HTTPConflict(
                explanation=error.format_message()) from error

    @wsgi.action('os-getConsoleOutput')
    def console_output(self, req: wsgi.Request, id: str,
                       body: dict) -> dict[str, Any]:
        validators.validate(schemas.console_output, body)
        instance = self._instance(req, id, 'os_compute_api:os-console-output')
        length = body['os-getConsoleOutput'].get('length')
        if length is not None:
            length = int(length)
            if length == -1:
                length = None  # -1 means everything, as upstream
            elif length < 0:
                raise webob.exc.HTTPBadRequest(
                    explanation='length must be -1 or a positive integer')
        output = self.compute_api.get_console_output(
            req.context, instance, tail_length=length)
        return {'output': output}
