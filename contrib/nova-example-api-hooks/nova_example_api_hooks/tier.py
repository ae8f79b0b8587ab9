"""``example:tier``: a vendor request field and server field.

The field travels in the server's metadata, so it needs no database
change and survives every other operation; the hook only teaches the API
to accept it on create and to show it on servers.
"""

from __future__ import annotations

from typing import Any

from nova.flow import hooks

FIELD = 'example:tier'


TIERS = {'type': 'string', 'enum': ['gold', 'silver', 'bronze']}


class ServiceTier(hooks.Hook):
    """Accept ``example:tier`` on create; show it from microversion 2.47."""

    supports = {'api.server_create': '1.0', 'api.server_view': '1.0'}
    # The request field (namespaced, vendor:field), from every
    # microversion: no microversions entry for api.server_create.
    schema_fragments = {
        'api.server_create': {'properties': {FIELD: TIERS}},
    }
    # The response field the view stage adds: declared, namespaced.  A key
    # the hook adds without declaring it here fails its stage.
    view_fields = {
        'api.server_view': {FIELD: {'anyOf': [TIERS, {'type': 'null'}]}},
    }

    @hooks.after('api.server_create.metadata')
    def tier_to_metadata(self, ctx: Any, state: Any) -> None:
        """Store the requested tier in the new server's metadata."""
        tier = state.server.get(FIELD)
        if tier is not None:
            metadata = dict(state.create_kwargs.get('metadata') or {})
            metadata[FIELD] = tier
            state.create_kwargs['metadata'] = metadata

    # Responses gain the field only from this microversion (the engine
    # skips the stage below it); requests at lower ones get exactly
    # upstream's shape.
    @hooks.after('api.server_view.basic', min_version='2.47')
    def show_tier(self, ctx: Any, state: Any) -> None:
        """Show the tier (null when none was asked for)."""
        instance = state.instance
        metadata = (instance.get('metadata') if isinstance(instance, dict)
                    else getattr(instance, 'metadata', None)) or {}
        state.server[FIELD] = metadata.get(FIELD)
