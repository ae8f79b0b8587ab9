"""ACME build policy: refuse reserved server names, keep a build ledger.

Written only from nova's docs/vendor-guide.md and docs/flow-reference.md.
"""
import json
import os
import threading

from oslo_config import cfg

from nova.flow import hooks

BUILD = 'compute.build_instance'
TERMINATE = 'compute.terminate_instance'


def _display_name(instance):
    # The reference documents ``instance`` as "its database row as a dict"
    # without listing the columns; upstream's column is display_name.
    return instance.get('display_name') or instance.get('hostname') or ''


class AcmeBuildPolicy(hooks.Hook):
    """Refuses builds of reserved names; records each build in a ledger."""

    supports = {BUILD: '1.1', TERMINATE: '1.0'}
    options = [
        cfg.StrOpt('forbidden_prefix', default='forbidden-',
                   help='Servers whose name starts with this are refused.'),
        cfg.StrOpt('refusal_message',
                   default='ACME policy: server names starting with '
                           '"{prefix}" are reserved; choose another name.',
                   help='The message the user sees on a refused build '
                        '({prefix} and {name} are replaced).'),
        cfg.StrOpt('ledger_dir', default='/tmp/nova-acme-ledger',
                   help='Directory of the build ledger (one JSON file '
                        'per instance being built or built).'),
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self.outcomes = []   # (flow, run_id, 'success'|'failure', detail)

    # -- name policy -----------------------------------------------------

    @hooks.before(f'{BUILD}.claim_resources', name='acme_check_name')
    def check_name(self, ctx, state):
        """Refuse a build whose name starts with the forbidden prefix."""
        prefix = self.conf.forbidden_prefix
        name = _display_name(state.instance)
        if prefix and name.startswith(prefix):
            raise hooks.RunRefused(
                self.conf.refusal_message.format(prefix=prefix, name=name))

    # -- ledger ------------------------------------------------------------

    def _path(self, uuid):
        return os.path.join(self.conf.ledger_dir, f'{uuid}.json')

    @hooks.after(f'{BUILD}.claim_resources', name='acme_ledger',
                 revert='unrecord')
    def record(self, ctx, state):
        """Record the build in the ledger (reverted if the build fails)."""
        inst = state.instance
        os.makedirs(self.conf.ledger_dir, exist_ok=True)
        entry = {'uuid': inst['uuid'], 'name': _display_name(inst),
                 'host': inst.get('host'), 'node': state.node}
        tmp = self._path(inst['uuid']) + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(entry, f)
        os.replace(tmp, self._path(inst['uuid']))

    def unrecord(self, ctx, state, failure):
        # Idempotent, from state only (works after a crash too).
        try:
            os.unlink(self._path(state.instance['uuid']))
        except FileNotFoundError:
            pass

    @hooks.after(f'{TERMINATE}.mark_deleted', name='acme_ledger_remove')
    def forget(self, ctx, state):
        """Remove a deleted server from the ledger."""
        self.unrecord(ctx, state, None)

    def ledger(self):
        """The ledger's entries, by instance UUID (for operators, tests)."""
        out = {}
        d = self.conf.ledger_dir
        if os.path.isdir(d):
            for fn in os.listdir(d):
                if fn.endswith('.json'):
                    with open(os.path.join(d, fn)) as f:
                        out[fn[:-5]] = json.load(f)
        return out

    # -- events ----------------------------------------------------------

    @hooks.listen(BUILD, 'run_success')
    def on_success(self, event):
        with self._lock:
            self.outcomes.append((event.flow, event.run_id, 'success', None))

    @hooks.listen(BUILD, 'run_failure')
    def on_failure(self, event):
        with self._lock:
            self.outcomes.append((event.flow, event.run_id, 'failure',
                                  repr(event.failure)))
