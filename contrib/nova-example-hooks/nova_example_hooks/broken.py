"""Entry point targets that are wrong on purpose, for nova's start-up checks.

Each one is a mistake a vendor package can make.  nova must refuse to start
with a message naming the hook and its entry point; its unit tests enable
these by name to prove it.
"""

from nova.flow import hooks


def not_a_hook(ctx, state):
    """Entry point ``example_not_a_hook``: a plain function, not a Hook."""


class ConstructorFails(hooks.Hook):
    """Entry point ``example_constructor_fails``: a Hook whose constructor
    raises, like one that reads a vendor config file that is missing."""

    supports = {'compute.build_instance': '1.0'}

    def __init__(self):
        raise RuntimeError('vendor configuration /etc/example/sauce.conf '
                           'is missing (deliberate, for nova tests)')
