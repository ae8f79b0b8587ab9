"""[database] (from oslo.db) and [DEFAULT] state_path: where nova keeps data.

The ``[database]`` options themselves belong to oslo.db (namespace
``oslo.db`` of the sample-config generator); this module only registers
them and sets nova's default connection, an SQLite file under
``state_path``, so that a single-process deployment (``nova-all``) needs
no database server.
"""

import os

from oslo_config import cfg
from oslo_db import options as oslo_db_options

#: The embedded default: one SQLite file beside the other local state.
DEFAULT_CONNECTION = 'sqlite:///$state_path/nova.sqlite'

path_opts = [
    cfg.StrOpt(
        'state_path',
        default=os.path.join(os.getcwd(), 'state'),
        sample_default='$CWD/state',
        help='Top-level directory for the data nova keeps on this host: the '
             'default SQLite database ([database] connection), local '
             'volumes ([volume] volumes_path) and local images ([image] '
             'images_path) are under it unless those options say '
             'otherwise. Created when first needed. The default, a '
             '"state" directory under the directory the service was '
             'started from, suits a development or single-process '
             'deployment; set an absolute path (for example '
             '/var/lib/nova) for anything else.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(path_opts)
    set_defaults(conf)


def set_defaults(conf: cfg.ConfigOpts = cfg.CONF) -> None:
    """Register oslo.db's [database] options with nova's default
    connection.

    Also usable as the sample generator's ``oslo.config.opts.defaults``
    hook (``nova.conf = nova.conf.database:set_defaults``), so that
    nova.conf.sample shows nova's default rather than oslo.db's none.
    """
    oslo_db_options.set_defaults(conf, connection=DEFAULT_CONNECTION)


def list_opts() -> dict:
    # [database] is listed by oslo.db's own generator namespace; listing it
    # here too would print every option twice in nova.conf.sample.
    return {'DEFAULT': path_opts}
