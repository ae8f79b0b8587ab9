"""Networking for instances: the interface and its local flat network.

``nova.network.api.API()`` returns the configured implementation
(``[network] backend``, by default
:class:`nova.network.local.FlatNetworkAPI`).
"""
