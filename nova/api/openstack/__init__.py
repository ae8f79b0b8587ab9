"""The OpenStack Compute API: WSGI plumbing shared by every resource."""
