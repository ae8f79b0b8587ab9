"""OpenStack Compute API v2.1: routes, controllers, views and API flows."""
