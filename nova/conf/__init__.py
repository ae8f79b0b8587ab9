"""nova's configuration options, one module per option group.

Every module in this package defines ``register_opts(conf)`` and
``list_opts()``; both the global ``CONF`` below and the sample-config
generator (``nova.conf.opts``) find them by walking the package, so adding a
group is adding a module.
"""

import importlib
import pkgutil

from oslo_config import cfg

CONF = cfg.CONF


def option_modules():
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name == 'opts':
            continue
        module = importlib.import_module(f'{__name__}.{info.name}')
        if hasattr(module, 'register_opts'):
            yield module


for _module in option_modules():
    _module.register_opts(CONF)
