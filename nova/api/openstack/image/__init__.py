"""The Image API v2 (a Glance subset) of nova's in-tree image service."""
