import socket

from oslo_config import cfg

compute_opts = [
    cfg.StrOpt(
        'host',
        default=socket.gethostname(),
        sample_default='<current_hostname>',
        help='Name of this host: the compute service registers under it, '
             'RPC messages for it are addressed to it, and flow runs it '
             'starts are recorded with it (crash recovery on restart finds '
             'them by this name, so it must not change between restarts).'),
    cfg.StrOpt(
        'default_availability_zone',
        default='nova',
        help='Availability zone of compute hosts that are in no host '
             'aggregate with availability_zone metadata and do not set '
             '[compute] availability_zone.'),
    cfg.StrOpt(
        'internal_service_availability_zone',
        default='internal',
        help='Availability zone of the services other than nova-compute '
             '(nova-conductor, nova-scheduler ...). It is not listed to '
             'users, servers cannot be created in it, and no aggregate '
             'may be given its name.'),
    cfg.IntOpt(
        'report_interval',
        default=10,
        min=1,
        help='Seconds between service heartbeats written to the database.'),
    cfg.IntOpt(
        'service_down_time',
        default=60,
        min=1,
        help='A service whose last heartbeat is older than this many '
             'seconds is considered down and is not scheduled to.'),
    cfg.FloatOpt(
        'cpu_allocation_ratio', default=16.0, min=0.0,
        help='Virtual CPUs per physical CPU the scheduler and the claim '
             'may place on a compute node.'),
    cfg.FloatOpt(
        'ram_allocation_ratio', default=1.5, min=0.0,
        help='Virtual RAM per physical RAM the claim may hand out.'),
    cfg.FloatOpt(
        'disk_allocation_ratio', default=1.0, min=0.0,
        help='Virtual disk per physical disk the claim may hand out.'),
    cfg.BoolOpt(
        'allow_resize_to_same_host',
        default=False,
        help='Let a resize or cold migration pick the host the server is '
             'on (the scheduler still has to accept it).  Needs a driver '
             'that supports it (the fake and libvirt drivers do); useful '
             'on a single host.'),
    cfg.IntOpt(
        'resize_confirm_window',
        default=0,
        min=0,
        help='Seconds after which a resized or cold-migrated server '
             'waiting in VERIFY_RESIZE is confirmed automatically by its '
             'new host; 0 disables the automatic confirm.'),
    cfg.IntOpt(
        'block_device_allocate_retries',
        default=60,
        min=0,
        help='How many times a build checks whether a volume it asked '
             'the volume service to create (a block device mapping from '
             'an image to a volume) is available before it fails.'),
    cfg.IntOpt(
        'block_device_allocate_retries_interval',
        default=3,
        min=0,
        help='Seconds between those checks.'),
    cfg.IntOpt(
        'long_rpc_timeout',
        default=1800,
        min=1,
        help='Seconds nova-conductor waits for the answer to an RPC call '
             'that may take long (the steps of a move: copying disks, '
             'migrating memory).  The other side sends heartbeats while '
             'it works, so a host that dies is noticed after '
             '[DEFAULT] rpc_response_timeout, not after this.'),
]

compute_group = cfg.OptGroup(
    'compute', title='Compute host options',
    help='Options of the nova-compute service.')

compute_group_opts = [
    cfg.StrOpt(
        'availability_zone',
        help='Availability zone of this compute host; defaults to '
             '[DEFAULT] default_availability_zone.'),
    cfg.BoolOpt(
        'recover_interrupted_flows',
        default=True,
        help='At start, finish or revert every flow run that a previous '
             'nova-compute on this host left unfinished (each flow\'s '
             'interrupted-run policy decides which). Turn off only to '
             'inspect a crashed host by hand.'),
    cfg.IntOpt(
        'configured_instance_timeout',
        default=600,
        min=0,
        help='Seconds after which nova-compute undoes an instance it '
             'configured for a multi-create (the guest defined, not '
             'started: compute.configure_instance) whose power-on never '
             'came - nova-conductor stopped between the two phases and '
             'could not revert the request. The guest is undefined, the '
             'volumes, ports and resource claim given back, and the '
             'instance set to ERROR with a fault saying so. Checked every '
             'half of this period (at most every minute). 0 disables the '
             'check. Must be longer than configuring every instance of '
             'the largest multi-create takes.'),
    cfg.IntOpt(
        'max_concurrent_recoveries',
        default=10,
        min=1,
        help='How many instances nova-compute recovers at the same time '
             'at start (the runs of one instance are always recovered one '
             'after another). Recovery goes on in the background: the '
             'service takes requests at once, and a request for an '
             'instance still being recovered waits until its recovery '
             'ends. 1 recovers one instance at a time.'),
]


def register_opts(conf):
    conf.register_opts(compute_opts)
    conf.register_group(compute_group)
    conf.register_opts(compute_group_opts, group=compute_group)


def list_opts():
    return {'DEFAULT': compute_opts, compute_group: compute_group_opts}
