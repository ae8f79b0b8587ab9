"""ACME service tier: a request field on server create, shown in the view.

Written only from nova's docs/vendor-guide.md and docs/flow-reference.md.
"""
from oslo_config import cfg

from nova.flow import hooks

CREATE = 'api.server_create'
VIEW = 'api.server_view'
FIELD = 'acme:tier'
TIERS = ['gold', 'silver', 'bronze']


def _metadata(instance):
    """The instance's metadata as a dict, whatever shape it comes in."""
    if isinstance(instance, dict):
        md = instance.get('metadata')
    else:
        md = getattr(instance, 'metadata', None)
    if md is None:
        return {}
    if isinstance(md, dict):
        return md
    # A list of rows ({'key': .., 'value': ..}) as a DB join gives it.
    out = {}
    for row in md:
        try:
            out[row['key']] = row['value']
        except (KeyError, TypeError):
            pass
    return out


class AcmeTier(hooks.Hook):
    """Takes 'acme:tier' on server create, keeps it in metadata, shows it."""

    supports = {CREATE: '1.1', VIEW: '1.0'}
    schema_fragments = {CREATE: {'properties': {
        FIELD: {'type': 'string', 'enum': TIERS}}}}
    microversions = {CREATE: '2.47', VIEW: '2.47'}
    # Declared since nova checks the fields a view hook adds (guide, 3).
    view_fields = {VIEW: {FIELD: {'anyOf': [{'type': 'string',
                                             'enum': TIERS},
                                            {'type': 'null'}]}}}
    options = [
        cfg.StrOpt('default_tier', default='bronze', choices=TIERS,
                   help='The tier of servers created without acme:tier.'),
    ]

    @hooks.after(f'{CREATE}.metadata', name='acme_tier_to_metadata')
    def tier_to_metadata(self, ctx, state):
        """Store the requested (or default) tier as server metadata."""
        tier = state.server.get(FIELD) or self.conf.default_tier
        md = dict(state.create_kwargs.get('metadata') or {})
        md[FIELD] = tier
        state.create_kwargs['metadata'] = md

    @hooks.after(f'{VIEW}.basic', name='acme_show_tier')
    def show_tier(self, ctx, state):
        """Show the tier as 'acme:tier' in the server view."""
        state.server[FIELD] = _metadata(state.instance).get(FIELD)
