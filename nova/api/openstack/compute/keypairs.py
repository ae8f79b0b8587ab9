"""Key pairs: /os-keypairs (per user)."""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
from typing import Any

import webob.exc

from nova import exception, quota
from nova.api.openstack import common, wsgi
from nova.api.validation import parameter_types as types
from nova.api.validation import validators
from nova.policies import enforcer

KP = 'os_compute_api:os-keypairs:%s'


def create_schema(version: Any) -> dict[str, Any]:
    keypair: dict[str, Any] = {
        'name': types.keypair_name_v292 if version >= '2.92'
        else types.keypair_name,
        'public_key': {'type': 'string'},
    }
    required = ['name']
    if version >= '2.2':
        keypair['type'] = {'type': 'string', 'enum': ['ssh', 'x509']}
    if version >= '2.10':
        keypair['user_id'] = {'type': 'string'}
    if version >= '2.92':
        required.append('public_key')
    return copy.deepcopy({
        'type': 'object',
        'properties': {'keypair': {
            'type': 'object', 'properties': keypair, 'required': required,
            'additionalProperties': False}},
        'required': ['keypair'], 'additionalProperties': False})


def fingerprint(public_key: str) -> str:
    """MD5 of the key blob, colon separated, as ssh-keygen -l -E md5."""
    parts = public_key.strip().split()
    if len(parts) < 2:
        raise exception.InvalidInput(
            reason='Keypair data is invalid: not an OpenSSH public key')
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise exception.InvalidInput(
            reason='Keypair data is invalid: key is not base64') from None
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))


def generate_ssh_key() -> tuple[str, str]:
    """(private key PEM, public key) for a generated pair (before 2.92)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH,
        serialization.PublicFormat.OpenSSH).decode()
    return private, public + ' Generated-by-Nova'


class KeypairsController:

    def __init__(self, db: Any) -> None:
        self.db = db

    def _user(self, req: wsgi.Request, user_id: str | None,
              rule: str) -> str:
        ctx = req.context
        if user_id and req.is_microversion('2.10'):
            target = user_id
        else:
            target = ctx.user_id
        enforcer.authorize(ctx, KP % rule, {'user_id': target,
                                            'project_id': ctx.project_id})
        return target

    def _view(self, req: wsgi.Request, keypair: Any,
              full: bool) -> dict[str, Any]:
        view: dict[str, Any] = {
            'name': common.get(keypair, 'name'),
            'public_key': common.get(keypair, 'public_key'),
            'fingerprint': common.get(keypair, 'fingerprint'),
        }
        if req.is_microversion('2.2'):
            view['type'] = common.get(keypair, 'type') or 'ssh'
        if full:
            view.update({
                'user_id': common.get(keypair, 'user_id'),
                'id': common.get(keypair, 'id'),
                'created_at': common.usage_time(common.get(keypair,
                                                           'created_at')),
                'updated_at': common.usage_time(common.get(keypair,
                                                           'updated_at')),
                'deleted': False,
                'deleted_at': None,
            })
        return view

    def index(self, req: wsgi.Request) -> dict[str, Any]:
        user_id = self._user(req, req.GET.get('user_id'), 'index')
        keypairs = sorted(self.db.key_pair_get_all_by_user(req.context,
                                                           user_id),
                          key=lambda k: common.get(k, 'name'))
        paged = req.is_microversion('2.35')
        if paged:
            keypairs = common.limited(keypairs, req, key='name')
        result: dict[str, Any] = {'keypairs': [
            {'keypair': self._view(req, k, False)} for k in keypairs]}
        if paged:
            limit, _marker = common.pagination_params(req)
            links = common.next_link(
                req, 'os-keypairs',
                [{'name': common.get(k, 'name')} for k in keypairs], limit,
                key='name')
            if links:
                result['keypairs_links'] = links
        return result

    def show(self, req: wsgi.Request, id: str) -> dict[str, Any]:
        user_id = self._user(req, req.GET.get('user_id'), 'show')
        keypair = self.db.key_pair_get(req.context, user_id, id)
        return {'keypair': self._view(req, keypair, True)}

    def create(self, req: wsgi.Request,
               body: dict[str, Any]) -> wsgi.ResponseObject:
        """200 before 2.2, 201 from 2.2; a generated key's private half is
        returned once (generation is gone from 2.92)."""
        validators.validate(create_schema(req.api_version_request), body)
        entity = body['keypair']
        user_id = self._user(req, entity.get('user_id'), 'create')
        quota.QuotaEngine(self.db).check_key_pairs(req.context, user_id)
        key_type = entity.get('type', 'ssh')
        public_key = entity.get('public_key')
        private_key = None
        if public_key is None:
            if key_type != 'ssh':
                raise webob.exc.HTTPBadRequest(
                    explanation='Only ssh key pairs can be generated')
            private_key, public_key = generate_ssh_key()
        if key_type == 'ssh':
            print_ = fingerprint(public_key)
        else:
            print_ = hashlib.sha1(public_key.encode(),
                                  usedforsecurity=False).hexdigest()
        keypair = self.db.key_pair_create(req.context, {
            'user_id': user_id, 'name': entity['name'],
            'public_key': public_key, 'fingerprint': print_,
            'type': key_type})
        view = self._view(req, keypair, False)
        view['user_id'] = user_id
        if private_key is not None:
            view['private_key'] = private_key
        code = 201 if req.is_microversion('2.2') else 200
        return wsgi.ResponseObject({'keypair': view}, code=code)

    def delete(self, req: wsgi.Request, id: str) -> wsgi.ResponseObject:
        """202 before 2.2, 204 from 2.2."""
        user_id = self._user(req, req.GET.get('user_id'), 'delete')
        self.db.key_pair_destroy(req.context, user_id, id)
        return wsgi.ResponseObject(
            None, code=204 if req.is_microversion('2.2') else 202)
