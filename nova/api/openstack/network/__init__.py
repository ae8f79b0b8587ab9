"""The in-tree network service's Networking API v2.0 subset (Neutron's).

Served by nova-api / nova-all under ``/networking`` and by nova-network at
its root: ``/v2.0/networks``, ``/v2.0/subnets``, ``/v2.0/ports`` and
``/v2.0/extensions``, backed by the local flat network
(nova.network.local) directly, never by ``[network] backend`` (which may
be the REST client of this very API).
"""
