"""Block storage for instances: the interface and local volumes.

``nova.volume.api.API()`` returns the configured implementation
(``[volume] backend``, by default
:class:`nova.volume.local.LocalVolumeAPI`).
"""
