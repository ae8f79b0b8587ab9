"""An entry point target whose import fails, for nova's start-up checks.

The entry point ``example_broken_import`` names ``BrokenImport`` in this
module, as a vendor package would whose hook imports a library that is not
installed.  Enabling it must stop nova at start with a message naming the
hook and its entry point; nova's unit tests prove that it does.
"""

raise ImportError(
    'nova_example_hooks.broken_import fails on purpose: it stands for a '
    'hook whose own dependencies are missing')
