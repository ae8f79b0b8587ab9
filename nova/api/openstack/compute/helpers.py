"""Controller helpers: finding a server the caller may see, policy."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Any

from nova import exception
from nova.api.openstack import common
from nova.policies import enforcer


def is_uuid_like(value: Any) -> bool:
    try:
        uuid_lib.UUID(str(value))
    except ValueError:
        return False
    return True


def get_instance(compute_api: Any, ctx: Any, server_id: str) -> Any:
    """The server ``server_id`` if the caller may see it.

    Another project's server is answered exactly like a missing one (404),
    so its existence is not revealed; a name instead of an ID is a 404
    too, which is what openstackclient relies on to fall back to a search
    by name.
    """
    if not is_uuid_like(server_id):
        raise exception.InstanceNotFound(instance_id=server_id)
    instance = compute_api.get(ctx, server_id)
    if not ctx.is_admin and common.get(instance, 'project_id') != \
            ctx.project_id:
        raise exception.InstanceNotFound(instance_id=server_id)
    return instance


def target(instance: Any) -> dict[str, Any]:
    """The policy target of a server: its project and user."""
    return {'project_id': common.get(instance, 'project_id'),
            'user_id': common.get(instance, 'user_id')}


def authorize(ctx: Any, rule: str, instance: Any = None,
              fatal: bool = True) -> bool:
    return enforcer.authorize(
        ctx, rule, target(instance) if instance is not None else None,
        fatal=fatal)
