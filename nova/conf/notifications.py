from oslo_config import cfg

notifications_group = cfg.OptGroup(
    'notifications',
    title='Notifications options',
    help='What nova-compute notifies about instances, and in which format. '
         'Whether anything is sent at all is decided by '
         '[oslo_messaging_notifications] driver (none by default: nothing '
         'is built or sent).')

notification_opts = [
    cfg.StrOpt(
        'notification_format',
        default='unversioned',
        choices=[
            ('both', 'Both the legacy unversioned and the versioned '
                     'notifications are sent'),
            ('versioned', 'Only the versioned notifications are sent'),
            ('unversioned', 'Only the legacy unversioned notifications are '
                            'sent'),
        ],
        help='The format of the notifications sent: the legacy unversioned '
             'ones (event types compute.instance.<action>.<phase>, on the '
             '[oslo_messaging_notifications] topics) and/or the versioned '
             'ones (instance.<action>.<phase>, a payload with nova_object.* '
             'envelope, on versioned_notifications_topics). Upstream nova\'s '
             'option, with its default.'),
    cfg.ListOpt(
        'versioned_notifications_topics',
        default=['versioned_notifications'],
        help='The topics versioned notifications are sent to (consumers '
             'read <topic>.info and <topic>.error).'),
]


def register_opts(conf):
    conf.register_group(notifications_group)
    conf.register_opts(notification_opts, group=notifications_group)


def list_opts():
    return {notifications_group: notification_opts}
