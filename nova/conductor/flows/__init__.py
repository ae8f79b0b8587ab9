"""nova-conductor's flows: one module per operation, like the compute
flows, registered under the ``nova.flows`` entry points in setup.cfg
(``conductor.<operation>``), run and recorded by the conductor manager
and recovered by it at start (see nova.flow.recovery)."""
