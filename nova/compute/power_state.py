"""Power state of a guest, as the hypervisor reports it.

The values are upstream nova's (they are stored in the ``instances`` table and
returned by the API as ``OS-EXT-STS:power_state``), so they must not change.
A virt driver's ``get_info()`` returns one of these; the compute manager
compares it with the database to notice guests that changed behind its back.
"""

NOSTATE = 0x00
RUNNING = 0x01
PAUSED = 0x03
# The guest is powered off.
SHUTDOWN = 0x04
CRASHED = 0x06
SUSPENDED = 0x07

STATE_MAP = {
    NOSTATE: 'pending',
    RUNNING: 'running',
    PAUSED: 'paused',
    SHUTDOWN: 'shutdown',
    CRASHED: 'crashed',
    SUSPENDED: 'suspended',
}

# The tags of the power-update external event (2.76): the guest was
# powered on or off outside nova.
POWER_ON = 'POWER_ON'
POWER_OFF = 'POWER_OFF'
