"""The example a vendor copies: special sauce for instance builds.

Enable it in nova.conf::

    [flow]
    enabled_hooks = example_special_sauce

and ``nova-manage flow show compute.build_instance`` shows where it acts.
It uses each kind of hook point once, against contract 1.0 of
``compute.build_instance``:

* a stage ``add_special_sauce`` inserted before ``spawn.driver_spawn``, with
  a revert that takes the sauce off again when the build fails;
* an ``around`` on ``allocate_network`` that counts and times the calls;
* a listener on the run events (start, success, failure).

A real vendor would call its own service where this one counts; the
counters stay bounded however long nova-compute runs.
"""

import collections
import logging
import threading
import time

from oslo_config import cfg

from nova.flow import hooks

LOG = logging.getLogger(__name__)

BUILD = 'compute.build_instance'


class SpecialSauce(hooks.Hook):
    """Adds special sauce before the driver spawns an instance."""

    supports = {BUILD: '1.0'}
    # In nova.conf as [hook:example_special_sauce]; read as self.conf.
    options = [
        cfg.StrOpt('recipe', default='house',
                   help='Which special sauce to add to every build.'),
    ]

    def __init__(self):
        # Stages of concurrent builds call one hook object.
        self._lock = threading.Lock()
        self.sauce_added = 0
        self.last_recipe = None
        self.sauce_removed = 0
        self.network_calls = 0
        self.network_seconds = 0.0
        self.run_events = collections.Counter()

    @hooks.before(f'{BUILD}.spawn.driver_spawn',
                  revert='remove_special_sauce')
    def add_special_sauce(self, ctx, state):
        """Add the vendor's special sauce before the driver spawns."""
        with self._lock:
            self.sauce_added += 1
        recipe = self.conf.recipe if self.conf is not None else 'house'
        self.last_recipe = recipe
        LOG.info('Special sauce %s added (request %s)', recipe,
                 getattr(ctx, 'request_id', None))

    def remove_special_sauce(self, ctx, state, failure):
        # Runs when a later stage failed, or after a crash in a new process:
        # it must not rely on anything add_special_sauce kept in memory.
        with self._lock:
            self.sauce_removed += 1
        LOG.info('Special sauce removed after %s (request %s)', failure,
                 getattr(ctx, 'request_id', None))

    @hooks.around(f'{BUILD}.allocate_network')
    def time_allocate_network(self, ctx, state, proceed):
        started = time.monotonic()
        try:
            return proceed()
        finally:
            elapsed = time.monotonic() - started
            with self._lock:
                self.network_calls += 1
                self.network_seconds += elapsed

    @hooks.listen(BUILD, 'run_start', 'run_success', 'run_failure')
    def count_runs(self, event):
        with self._lock:
            self.run_events[event.kind.value] += 1
