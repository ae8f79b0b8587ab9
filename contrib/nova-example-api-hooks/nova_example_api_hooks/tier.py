"""``example:tier``: a vendor request field and server field.

The field travels in the server's metadata, so it needs no database
change and survives every other operation; the hook only teaches the API
to accept it on create and to show it on servers.
"""

from __future__ import annotations

from typing import Any

from nova.flow import hooks

FIELD = 'example:tier'


class ServiceTier(hooks.Hook):
    """Accept ``example:tier`` on create; show it from microversion 2.47."""

    supports = {'api.server_create': '1.0', 'api.server_view': '1.0'}
    # Responses gain the field only from this microversion; requests at
    # lower ones get exactly upstream's shape.
    microversions = {'api.server_view': '2.47'}
    schema_fragments = {
        'api.server_create': {'properties': {
            FIELD: {'type': 'string', 'enum': ['gold', 'silver', 'bronze']},
        }},
    }

    @hooks.after('api.server_create.metadata')
    def tier_to_metadata(self, ctx: Any, state: Any) -> None:
        """Store the requested tier in the new server's metadata."""
        tier = state.server.get(FIELD)
        if tier is not None:
            metadata = dict(state.create_kwargs.get('metadata') or {})
            metadata[FIELD] = tier
            state.create_kwargs['metadata'] = metadata

    @hooks.after('api.server_view.basic')
    def show_tier(self, ctx: Any, state: Any) -> None:
        """Show the tier (null when none was asked for)."""
        instance = state.instance
        metadata = (instance.get('metadata') if isinstance(instance, dict)
                    else getattr(instance, 'metadata', None)) or {}
        state.server[FIELD] = metadata.get(FIELD)
