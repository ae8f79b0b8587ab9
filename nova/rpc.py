"""RPC and notifications: nova's one place that sets up oslo.messaging.

A service calls ``init(conf)`` once at start and ``cleanup()`` at stop; the
RPC API modules then use ``get_client()``, managers are served by
``get_server()``, and notifications go through ``get_notifier()``.

Transport: ``[DEFAULT] transport_url``, normally RabbitMQ (``rabbit://``).
The all-in-one process (nova-all) passes
``default_transport_url=IN_PROCESS_URL`` so that, unless the operator set
``transport_url``, its services talk through ``nova-inprocess:/``
(nova.rpc_inprocess): oslo.messaging's in-memory ``fake`` driver with
listeners woken by each delivered message instead of polling every 50 ms.
It delivers call, cast and fanout between clients and servers of the same
transport object in one process (which is why this module keeps one
transport per process), and checks every message is JSON-serialisable, as a
real broker would need.

What crosses the wire: the RequestContext becomes its ``to_dict()`` and is
rebuilt on the server; arguments and results must be JSON data (dicts,
lists, strings, numbers, None; datetimes and UUIDs are sent as strings).
Anything else, notably an ORM object, is refused at the sender with
``UnserializableEntity`` - send a dict or the object's UUID instead, so that
what a message carries never depends on lazy-loading a database row.

Executor: see ``nova.concurrency.executor_name``.
"""

from __future__ import annotations

import datetime
import urllib.parse
import uuid
from collections.abc import Iterable
from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging

from nova import concurrency, exception
from nova import context as nova_context

LOG = logging.getLogger(__name__)

IN_PROCESS_URL = 'nova-inprocess:/'
# Transport schemes whose messages never leave the process: oslo's fake
# driver and nova's own wake-on-delivery variant (nova.rpc_inprocess).
IN_PROCESS_SCHEMES = frozenset({'fake', 'nova-inprocess'})
# The exchange nova's topics live in, as upstream.
CONTROL_EXCHANGE = 'nova'
# Remote exceptions from these modules are re-raised as themselves (with a
# "_Remote" class name suffix) by RPC calls; others become RemoteError.
ALLOWED_EXMODS = [exception.__name__]
# Keys removed from every notification payload, at any depth: secrets and
# user data must not reach a notification bus or a log.
NOTIFICATION_SECRET_KEYS = frozenset({
    'admin_password', 'adminPass', 'user_data', 'rescue_password',
    'new_pass', 'password'})

#: oslo.messaging options whose default nova changes, (group, name) ->
#: value, set by ``register_opts``:
#:
#: * ``[oslo_messaging_rabbit] amqp_durable_queues = True``: the topic
#:   queues (``conductor``, ``compute.<host>`` ...) and nova's exchange
#:   survive a RabbitMQ restart, so a cast published after the broker came
#:   back and before the consumer re-declared its queue is queued instead
#:   of dropped, and casts queued before the restart are still there
#:   (oslo.messaging publishes them with delivery mode 2, persistent: it
#:   leaves kombu's default).  Reply and fanout queues stay transient.
LIBRARY_DEFAULTS: dict[tuple[str, str], Any] = {
    ('oslo_messaging_rabbit', 'amqp_durable_queues'): True,
}

TRANSPORT: messaging.Transport | None = None
NOTIFICATION_TRANSPORT: messaging.Transport | None = None
NOTIFIER: messaging.Notifier | None = None
#: Versioned notifications ([notifications] versioned_notifications_topics).
VERSIONED_NOTIFIER: messaging.Notifier | None = None
_transport_url: str | None = None

class UnserializableEntity(TypeError):
    """An RPC argument or result that is not JSON data."""


# -- set up -----------------------------------------------------------------

def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register oslo.messaging's options and set nova's defaults for them.

    oslo.messaging registers its options itself only when a transport is
    made; ``init()`` needs them earlier (to see whether the operator set
    ``transport_url``), and so may a test or command that overrides them.
    They are copies of oslo's, and equal options register once. (Not done
    by nova.conf: importing oslo.messaging there would add a third of a
    second to every nova command.)

    nova's default differs from the library's for one of them (see
    ``LIBRARY_DEFAULTS``); an operator's value still wins.
    """
    # First, so that the options carry nova's exchange like the ones oslo
    # registers later (else they would differ: duplicate).
    messaging.set_transport_defaults(CONTROL_EXCHANGE)
    # oslo.messaging's public list of its options (importing it brings in
    # the RabbitMQ driver's modules too: ~0.1-0.2 s and a few MiB, paid
    # once per process; no private option list is read instead).
    from oslo_messaging import opts as messaging_opts
    for group, opts in messaging_opts.list_opts():
        if group in (None, 'oslo_messaging_notifications',
                     'oslo_messaging_rabbit'):
            conf.register_opts(opts, group=group)
    # ConfigOpts.set_default keeps the new default in ``conf``, not in the
    # option objects, so the driver's own (equal) options still register
    # as the same options when it is loaded.
    for (group, name), value in LIBRARY_DEFAULTS.items():
        conf.set_default(name, value, group=group)


def _operator_set(conf: cfg.ConfigOpts, name: str,
                  group: str | None = None) -> bool:
    info = conf.get_location(name, group)
    return info is not None and info.location not in (
        cfg.Locations.opt_default, cfg.Locations.set_default)


def transport_url(conf: cfg.ConfigOpts,
                  default_transport_url: str | None = None) -> str:
    """The RPC transport URL: ``[DEFAULT] transport_url`` if the operator set
    it, else ``default_transport_url`` if given, else oslo's default.
    """
    register_opts(conf)
    if default_transport_url and not _operator_set(conf, 'transport_url'):
        return default_transport_url
    return conf.transport_url


def init(conf: cfg.ConfigOpts,
         default_transport_url: str | None = None) -> None:
    """Create the process's RPC and notification transports and notifier.

    :param default_transport_url: used when ``[DEFAULT] transport_url`` is
        not set; nova-all passes ``IN_PROCESS_URL``.
    """
    global TRANSPORT, NOTIFICATION_TRANSPORT, NOTIFIER, _transport_url
    global VERSIONED_NOTIFIER
    if TRANSPORT is not None:
        raise RuntimeError('nova.rpc.init() was already called; call '
                           'nova.rpc.cleanup() first')
    url = transport_url(conf, default_transport_url)
    TRANSPORT = messaging.get_rpc_transport(
        conf, url=url, allowed_remote_exmods=ALLOWED_EXMODS)
    _transport_url = url
    # Notifications follow RPC onto the same bus unless configured apart
    # (oslo's own fallback would ignore default_transport_url).
    notification_url = conf.oslo_messaging_notifications.transport_url or url
    NOTIFICATION_TRANSPORT = messaging.get_notification_transport(
        conf, url=notification_url, allowed_remote_exmods=ALLOWED_EXMODS)
    # No driver configured: say 'noop' explicitly, so that is_enabled() is
    # False and callers skip building payloads nobody receives.
    # (Notifier takes one driver name, or None for the configured list.)
    driver = None if conf.oslo_messaging_notifications.driver else 'noop'
    NOTIFIER = messaging.Notifier(
        NOTIFICATION_TRANSPORT, driver=driver,
        serializer=RequestContextSerializer(NotificationPayloadSerializer()))
    VERSIONED_NOTIFIER = messaging.Notifier(
        NOTIFICATION_TRANSPORT, driver=driver,
        serializer=RequestContextSerializer(NotificationPayloadSerializer()),
        topics=(conf.notifications.versioned_notifications_topics
                if 'notifications' in conf else ['versioned_notifications']))
    LOG.debug('RPC transport %s, executor %s',
              urllib.parse.urlsplit(url).scheme or 'default',
              concurrency.executor_name())


def cleanup() -> None:
    """Close the transports; ``init()`` may be called again afterwards."""
    global TRANSPORT, NOTIFICATION_TRANSPORT, NOTIFIER, _transport_url
    global VERSIONED_NOTIFIER
    for transport in (TRANSPORT, NOTIFICATION_TRANSPORT):
        if transport is not None:
            transport.cleanup()
    TRANSPORT = NOTIFICATION_TRANSPORT = NOTIFIER = None
    VERSIONED_NOTIFIER = None
    _transport_url = None


def initialized() -> bool:
    return TRANSPORT is not None


def get_transport() -> messaging.Transport:
    if TRANSPORT is None:
        raise RuntimeError('nova.rpc.init() has not been called')
    return TRANSPORT


def is_in_process() -> bool:
    """True when RPC stays inside this process (``IN_PROCESS_SCHEMES``):
    only right for nova-all and tests, since no other process is reached.
    """
    if not _transport_url:
        return False
    return _transport_url.split(':', 1)[0] in IN_PROCESS_SCHEMES


def get_client(target: messaging.Target, version_cap: str | None = None,
               serializer: messaging.Serializer | None = None,
               timeout: float | None = None) -> messaging.RPCClient:
    """An RPC client for ``target`` that carries nova's RequestContext."""
    return messaging.get_rpc_client(
        get_transport(), target, version_cap=version_cap, timeout=timeout,
        serializer=RequestContextSerializer(
            serializer or JsonEntitySerializer()))


def get_server(target: messaging.Target, endpoints: Iterable[Any],
               serializer: messaging.Serializer | None = None
               ) -> messaging.MessageHandlingServer:
    """An RPC server dispatching ``target``'s messages to ``endpoints``.

    Endpoint methods receive a nova RequestContext. Only public methods are
    callable remotely (oslo's DefaultRPCAccessPolicy).
    """
    return messaging.get_rpc_server(
        get_transport(), target, list(endpoints),
        executor=concurrency.executor_name(),
        serializer=RequestContextSerializer(
            serializer or JsonEntitySerializer()),
        access_policy=messaging.DefaultRPCAccessPolicy)


def get_notifier(service: str, host: str | None = None,
                 publisher_id: str | None = None) -> messaging.Notifier:
    """A notifier publishing as ``publisher_id``, by default
    ``'<service>.<host>'`` (e.g. 'compute.host1'), or ``service`` alone
    without a host - upstream's signature.

    Drivers come from ``[oslo_messaging_notifications] driver``; with none
    (the default) notifying is a no-op, and ``is_enabled()`` is False so
    callers can skip building payloads.
    """
    if NOTIFIER is None:
        raise RuntimeError('nova.rpc.init() has not been called')
    if publisher_id is None:
        publisher_id = f'{service}.{host}' if host else service
    return NOTIFIER.prepare(publisher_id=publisher_id)


def get_versioned_notifier(publisher_id: str) -> messaging.Notifier:
    """The notifier of versioned notifications (upstream's publisher
    IDs: ``'nova-compute:<host>'``, ``'nova-api:<host>'``), sending to
    ``[notifications] versioned_notifications_topics``."""
    if VERSIONED_NOTIFIER is None:
        raise RuntimeError('nova.rpc.init() has not been called')
    return VERSIONED_NOTIFIER.prepare(publisher_id=publisher_id)


# -- serialisation ----------------------------------------------------------

def _is_orm_object(value: Any) -> bool:
    # Reached only for values no plain type matched; SQLAlchemy's public
    # inspection API says whether it is a mapped instance.
    from sqlalchemy import inspect
    from sqlalchemy.orm import InstanceState
    return isinstance(inspect(value, raiseerr=False), InstanceState)


class _NotPlain(Exception):
    """Something ``_plain_copy`` leaves to ``to_primitive``'s full walk."""


def _plain_copy(value: Any) -> Any:
    """``to_primitive`` for the common case - exact dicts, lists, strings,
    numbers, None, datetimes - without building the path of every value
    (which costs more than the copy); anything else raises _NotPlain."""
    kind = type(value)
    if kind is str or kind is int or value is None or kind is bool or \
            kind is float:
        return value
    if kind is dict:
        result = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            result[key] = _plain_copy(item)
        return result
    if kind is list or kind is tuple:
        return [_plain_copy(item) for item in value]
    if kind is datetime.datetime:
        return value.isoformat()
    raise _NotPlain


def to_primitive(value: Any, path: str = 'value') -> Any:
    """``value`` as JSON data, or UnserializableEntity naming where the
    offending part is (``path``) and what it is.
    """
    try:
        return _plain_copy(value)
    except _NotPlain:
        return _to_primitive(value, path)


def _to_primitive(value: Any, path: str) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise UnserializableEntity(
                    f'{path}: key {key!r} is not a string')
            result[key] = _to_primitive(item, f'{path}.{key}')
        return result
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_to_primitive(item, f'{path}[{index}]')
                for index, item in enumerate(value)]
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    kind = type(value).__name__
    if _is_orm_object(value):
        raise UnserializableEntity(
            f'{path}: {kind} is a database object and cannot be sent over '
            f'RPC; send a dict of the fields needed, or its uuid')
    raise UnserializableEntity(
        f'{path}: {kind} cannot be sent over RPC; send JSON data')


class JsonEntitySerializer(messaging.NoOpSerializer):
    """Arguments and results as strict JSON data (see ``to_primitive``)."""

    def serialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return to_primitive(entity)


class NotificationPayloadSerializer(JsonEntitySerializer):
    """JSON data without ``NOTIFICATION_SECRET_KEYS``, at any depth."""

    def serialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return _redact(to_primitive(entity, 'payload'))


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _redact(item) for key, item in value.items()
                if key not in NOTIFICATION_SECRET_KEYS}
    if isinstance(value, list):
        return [_redact(item) for item in value]
    return value


class RequestContextSerializer(messaging.Serializer):
    """Sends a RequestContext as its dict and rebuilds it on arrival;
    entities go through ``base``.
    """

    def __init__(self, base: messaging.Serializer | None = None) -> None:
        self._base = base or JsonEntitySerializer()

    def serialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return self._base.serialize_entity(ctxt, entity)

    def deserialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return self._base.deserialize_entity(ctxt, entity)

    def serialize_context(self, ctxt: Any) -> dict[str, Any]:
        if ctxt is None:
            return {}
        if isinstance(ctxt, dict):
            return ctxt
        return ctxt.to_dict()

    def deserialize_context(self, ctxt: dict[str, Any]
                            ) -> nova_context.RequestContext:
        return nova_context.RequestContext.from_dict(ctxt or {})
