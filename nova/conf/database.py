"""[database] (from oslo.db) and [DEFAULT] state_path: where nova keeps data.

The ``[database]`` options themselves belong to oslo.db (namespace
``oslo.db`` of the sample-config generator); this module registers them
and sets nova's defaults: the connection, an SQLite file under
``state_path``, so that a single-process deployment (``nova-all``) needs
no database server, and ``connection_parameters``, which names
nova.db.pool's SQLAlchemy plugin.  It adds one option of nova's own to
the group, ``pool_ping_after``, which that plugin reads.
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


pool_opts = [
    cfg.FloatOpt(
        'pool_ping_after',
        default=1.0,
        min=0.0,
        help='Seconds a pooled database connection must have been idle '
             'before it is pinged at check-out (nova\'s "nova_pool" '
             'SQLAlchemy plugin, enabled by "plugin=nova_pool" in '
             '[database] connection_parameters, the default). A connection '
             'used more recently is handed out without the round trip; if '
             'the server went away meanwhile, its first statement fails '
             'and the transaction is retried on a new connection, as one '
             'under way when the server goes. 0 pings at every check-out, '
             'as oslo.db alone does.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(path_opts)
    set_defaults(conf)
    conf.register_opts(pool_opts, group='database')


def set_defaults(conf: cfg.ConfigOpts = cfg.CONF) -> None:
    """Register oslo.db's [database] options with nova's default
    connection.

    Also usable as the sample generator's ``oslo.config.opts.defaults``
    hook (``nova.conf = nova.conf.database:set_defaults``), so that
    nova.conf.sample shows nova's default rather than oslo.db's none.
    """
    oslo_db_options.set_defaults(conf, connection=DEFAULT_CONNECTION)
    # nova.db.pool's plugin: the pool pings and resets a connection only
    # when needed.  An operator's own parameters must keep it (nova
    # warns at start-up when an engine was made without it).
    conf.set_default('connection_parameters', 'plugin=nova_pool',
                     group='database')


def list_opts() -> dict:
    # oslo.db's [database] options are listed by its own generator
    # namespace; listing them here too would print each twice in
    # nova.conf.sample.  Only nova's own option of the group is here.
    return {'DEFAULT': path_opts, 'database': pool_opts}
