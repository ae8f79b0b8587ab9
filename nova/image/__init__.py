"""Images: the interface and the local image store.

``nova.image.api.API()`` returns the configured implementation
(``[image] backend``, by default :class:`nova.image.local.LocalImageAPI`).
"""
