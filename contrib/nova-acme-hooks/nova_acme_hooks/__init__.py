"""ACME's vendor hooks for nova (written from docs/vendor-guide.md)."""
