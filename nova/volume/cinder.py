"""A Block Storage v3 API over REST: Cinder, or nova's own ``/volume/v3``.

``[volume] backend = nova.volume.cinder.CinderVolumeAPI`` makes nova's
flows call the volume service through this client instead of the local
implementation.  Each interface call is one request with Cinder's names:
``POST /volumes``, ``GET /volumes/{id}``, ``GET /volumes/detail``,
``DELETE``, and the volume actions ``os-extend``, ``os-reserve``,
``os-unreserve``, ``os-initialize_connection``, ``os-attach``,
``os-begin_detaching``, ``os-roll_detaching``, ``os-detach``,
``os-terminate_connection``.

Where the API is and how to reach it is ``[cinder]`` (keystoneauth's
session, auth and adapter options).  A request is made with the caller's
token when its context has one (a Keystone deployment: the user's own
rights apply, as upstream nova does), otherwise with the ``[cinder]`` auth
plugin (``admin_token``, ``password``...): periodic tasks, recovered flow
runs and noauth2 contexts carry no token.

Errors come back as nova's: 404 is VolumeNotFound, 400 and 409
InvalidVolume (with the service's message), so flows and their reverts
behave exactly as with the local implementation.
"""

from __future__ import annotations

import functools
from typing import Any

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import token_endpoint
from oslo_log import log as logging

import nova.conf
from nova import exception
from nova.volume import api

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

GROUP = 'cinder'
#: The microversion requests ask for: the v3 base, whose request and
#: response shapes are all this client reads.
MICROVERSION = '3.0'


class CinderVolumeAPI(api.VolumeAPI):
    """nova's volume interface over a Block Storage v3 API."""

    def __init__(self, conf: Any = CONF) -> None:
        self.conf = conf

    # -- transport ---------------------------------------------------------

    @functools.cached_property
    def _session(self) -> Any:
        return ks_loading.load_session_from_conf_options(self.conf, GROUP)

    @functools.cached_property
    def _service_auth(self) -> Any:
        """The ``[cinder]`` auth plugin (None when none is configured)."""
        return ks_loading.load_auth_from_conf_options(self.conf, GROUP)

    def _auth(self, context: Any) -> Any:
        token = getattr(context, 'auth_token', None)
        endpoint = self.conf[GROUP].endpoint_override
        if token and endpoint:
            return token_endpoint.Token(endpoint, token)
        if self._service_auth is None:
            raise exception.NovaException(
                message='The Block Storage API client has neither a token '
                        'in the request nor [cinder] auth_type to '
                        'authenticate with')
        return self._service_auth

    def _adapter(self, context: Any) -> Any:
        adapter = ks_loading.load_adapter_from_conf_options(
            self.conf, GROUP, session=self._session, auth=self._auth(context),
            connect_retries=self.conf[GROUP].http_retries,
            global_request_id=getattr(context, 'global_request_id', None),
            default_microversion=MICROVERSION)
        return adapter

    def _request(self, context: Any, method: str, path: str,
                 volume_id: str | None = None,
                 body: dict[str, Any] | None = None) -> Any:
        adapter = self._adapter(context)
        try:
            resp = adapter.request(path, method, json=body,
                                   headers={'Accept': 'application/json'})
        except ks_exceptions.NotFound:
            raise exception.VolumeNotFound(
                volume_id=volume_id or path) from None
        except (ks_exceptions.BadRequest, ks_exceptions.Conflict) as error:
            raise exception.InvalidVolume(
                reason=_message(error)) from None
        if not resp.content:
            return None
        return resp.json()

    def _action(self, context: Any, volume_id: str, name: str,
                args: dict[str, Any] | None = None) -> Any:
        return self._request(context, 'POST', f'/volumes/{volume_id}/action',
                             volume_id, {name: args})

    # -- records -----------------------------------------------------------

    def create(self, context: Any, size: int, name: str | None = None,
               image_id: str | None = None) -> dict[str, Any]:
        spec: dict[str, Any] = {'size': int(size), 'name': name}
        if image_id:
            spec['imageRef'] = image_id
        body = self._request(context, 'POST', '/volumes', None,
                             {'volume': spec})
        return _volume(body['volume'])

    def get(self, context: Any, volume_id: str) -> dict[str, Any]:
        body = self._request(context, 'GET', f'/volumes/{volume_id}',
                             volume_id)
        return _volume(body['volume'])

    def get_all(self, context: Any,
                filters: dict[str, Any] | None = None,
                ) -> list[dict[str, Any]]:
        path = '/volumes/detail'
        if getattr(context, 'is_admin', False):
            path += '?all_tenants=1'
        body = self._request(context, 'GET', path)
        volumes = [_volume(v) for v in body['volumes']]
        return [v for v in volumes if _matches(v, filters or {})]

    def delete(self, context: Any, volume_id: str) -> None:
        self._request(context, 'DELETE', f'/volumes/{volume_id}', volume_id)

    def extend(self, context: Any, volume_id: str, new_size: int) -> None:
        self._action(context, volume_id, 'os-extend',
                     {'new_size': int(new_size)})

    # -- attachment states -------------------------------------------------

    def reserve(self, context: Any, volume_id: str,
                instance_uuid: str | None = None) -> None:
        self._action(context, volume_id, 'os-reserve',
                     {'instance_uuid': instance_uuid})

    def unreserve(self, context: Any, volume_id: str,
                  instance_uuid: str | None = None) -> None:
        # os-unreserve names no instance: the holder is checked first
        # when one is given.  A volume only reserved shows no
        # attachment, so another instance's reservation cannot be told
        # from none and is released as well; an attachment can be.
        if instance_uuid is not None:
            holder = self.get(context, volume_id).get('instance_uuid')
            if holder not in (None, instance_uuid):
                LOG.info('Volume %s is held by %s, not %s; left so',
                         volume_id, holder, instance_uuid)
                return
        self._action(context, volume_id, 'os-unreserve')

    def initialize_connection(self, context: Any, volume_id: str,
                              connector: dict[str, Any] | None = None,
                              ) -> dict[str, Any]:
        body = self._action(context, volume_id, 'os-initialize_connection',
                            {'connector': connector or {}})
        info: dict[str, Any] = body['connection_info']
        return info

    def attach(self, context: Any, volume_id: str, instance_uuid: str,
               mountpoint: str | None = None) -> dict[str, Any]:
        body = self._action(context, volume_id, 'os-attach',
                            {'instance_uuid': instance_uuid,
                             'mountpoint': mountpoint, 'mode': 'rw'})
        if body and body.get('connection_info'):
            info: dict[str, Any] = body['connection_info']
            return info
        # Cinder answers os-attach with an empty 202: the connection info
        # is initialize_connection's.
        return self.initialize_connection(context, volume_id)

    def begin_detaching(self, context: Any, volume_id: str) -> None:
        self._action(context, volume_id, 'os-begin_detaching')

    def roll_detaching(self, context: Any, volume_id: str) -> None:
        self._action(context, volume_id, 'os-roll_detaching')

    def detach(self, context: Any, volume_id: str,
               instance_uuid: str | None = None) -> None:
        self._action(context, volume_id, 'os-detach',
                     {'instance_uuid': instance_uuid})

    def terminate_connection(self, context: Any, volume_id: str,
                             connector: dict[str, Any] | None = None,
                             ) -> None:
        self._action(context, volume_id, 'os-terminate_connection',
                     {'connector': connector or {}})


def _message(error: ks_exceptions.HttpError) -> str:
    """The message of a Cinder error body (``{"badRequest": {"message":
    ...}}``), or keystoneauth's text of the error."""
    if error.response is None:
        return str(error)
    try:
        (fault,) = error.response.json().values()
        return str(fault['message'])
    except (ValueError, TypeError, KeyError, AttributeError):
        return str(error)


def _volume(view: dict[str, Any]) -> dict[str, Any]:
    """A Cinder volume view as nova's volume dict (nova.volume.api)."""
    attachments = view.get('attachments') or []
    attachment = attachments[0] if attachments else {}
    return {'id': view['id'], 'size': view['size'],
            'status': view['status'],
            'display_name': view.get('name'),
            'attach_status': api.ATTACHED if attachments else api.DETACHED,
            'instance_uuid': attachment.get('server_id'),
            'mountpoint': attachment.get('device'),
            'project_id': view.get('os-vol-tenant-attr:tenant_id'),
            'user_id': view.get('user_id'),
            'created_at': view.get('created_at'),
            'updated_at': view.get('updated_at')}


def _matches(volume: dict[str, Any], filters: dict[str, Any]) -> bool:
    """Whether a volume passes nova.db's volume filters (a list is "any
    of")."""
    for key, wanted in filters.items():
        values = wanted if isinstance(wanted, (list, tuple, set)) else [
            wanted]
        if volume.get(key) not in values:
            return False
    return True
