"""Console authorization tokens (upstream's ``ConsoleAuthToken``).

nova-compute issues a token with every console URL (:func:`authorize`);
a console proxy opens a console only for a token :func:`validate` finds.
The token is a random UUID that appears in the URL and nowhere else: the
database keeps its SHA-256 hash, so reading the table gives nobody a
console, and neither the token nor its hash is logged.  A token opens its
console any number of times until it expires (``[consoleauth]
token_ttl``), as upstream: noVNC reconnects with the same URL.
"""

from __future__ import annotations

import dataclasses
import hashlib
import urllib.parse
from typing import Any

from oslo_utils import timeutils, uuidutils

import nova.conf
from nova import exception
from nova.db import api as db

CONF = nova.conf.CONF


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode('utf-8')).hexdigest()


def access_url(access_url_base: str, console_type: str, token: str) -> str:
    """The URL a user opens the console with.

    noVNC (1.1 and later) takes the websocket's path from its ``path``
    query parameter, so the token goes inside it ("?path=%3Ftoken%3D..."),
    which older noVNC understands too; other consoles get ``?token=``.
    """
    if console_type == 'novnc':
        query = urllib.parse.urlencode({'path': f'?token={token}'})
    else:
        query = urllib.parse.urlencode({'token': token})
    return f'{access_url_base}?{query}'


@dataclasses.dataclass(frozen=True)
class Authorization:
    """A token just issued.  ``token`` is the secret: only its holder
    (the user, through :attr:`access_url`) may see it."""

    token: str = dataclasses.field(repr=False)
    access_url: str = dataclasses.field(repr=False)
    instance_uuid: str
    console_type: str
    host: str
    port: int
    internal_access_path: str | None
    expires: int


def authorize(context: Any, *, instance_uuid: str, console_type: str,
              host: str, port: int, access_url_base: str | None,
              internal_access_path: str | None = None,
              ttl: int | None = None) -> Authorization:
    """Issue a token for the console server ``host``:``port`` of an
    instance, valid ``ttl`` seconds (``[consoleauth] token_ttl``)."""
    token = uuidutils.generate_uuid()
    ttl = CONF.consoleauth.token_ttl if ttl is None else ttl
    expires = int(timeutils.utcnow_ts()) + ttl
    db.console_auth_token_create(context, {
        'token_hash': hash_token(token), 'console_type': console_type,
        'host': host, 'port': port,
        'internal_access_path': internal_access_path,
        'instance_uuid': instance_uuid, 'expires': expires,
        'access_url_base': access_url_base})
    return Authorization(
        token=token,
        access_url=access_url(access_url_base or '', console_type, token),
        instance_uuid=instance_uuid, console_type=console_type, host=host,
        port=port, internal_access_path=internal_access_path,
        expires=expires)


def validate(context: Any, token: str,
             instance_uuid: str | None = None) -> dict[str, Any]:
    """The stored authorization of ``token`` (a row of
    console_auth_tokens: console_type, host, port, instance_uuid ...).

    :raises InvalidToken: no such token, or it has expired (the message
        never shows the token).
    """
    row = None
    if token:
        row = db.console_auth_token_get_valid(context, hash_token(token),
                                              instance_uuid=instance_uuid)
    if row is None:
        raise exception.InvalidToken(token='***')
    return row


def clean_expired(context: Any) -> int:
    """Remove the expired tokens; how many."""
    return db.console_auth_token_destroy_expired(context)


def clean_for_instance(context: Any, instance_uuid: str) -> int:
    """Remove every token of an instance (it is gone or moved)."""
    return db.console_auth_token_destroy_all_by_instance(context,
                                                         instance_uuid)
