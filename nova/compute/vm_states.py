"""Stable states of an instance (``instances.vm_state``).

A vm_state is where an instance rests between operations; the operation in
progress, if any, is its task_state (``nova.compute.task_states``). Values
are upstream nova's: clients see them as ``OS-EXT-STS:vm_state``.
"""

# Running (or at least defined and started) on its host.
ACTIVE = 'active'
# Being created: not yet running on a host.
BUILDING = 'building'
PAUSED = 'paused'
SUSPENDED = 'suspended'
# Powered off, disks kept.
STOPPED = 'stopped'
RESCUED = 'rescued'
# Resized or migrated, waiting for confirm or revert.
RESIZED = 'resized'
# Deleted but restorable until reclaim_instance_interval passes.
SOFT_DELETED = 'soft-delete'
DELETED = 'deleted'
ERROR = 'error'
# Shelved with its guest still on the host.
SHELVED = 'shelved'
# Shelved and removed from the host; only its snapshot remains.
SHELVED_OFFLOADED = 'shelved_offloaded'

# States from which a soft (guest OS) reboot may start.
ALLOW_SOFT_REBOOT = [ACTIVE]
# A hard reboot also recovers guests that are off, paused or broken.
ALLOW_HARD_REBOOT = ALLOW_SOFT_REBOOT + [STOPPED, PAUSED, SUSPENDED, ERROR]
ALLOW_TRIGGER_CRASH_DUMP = [ACTIVE, PAUSED, RESCUED, RESIZED, ERROR]
# States in which the instance holds no resources on any host.
ALLOW_RESOURCE_REMOVAL = [DELETED, SHELVED_OFFLOADED]
