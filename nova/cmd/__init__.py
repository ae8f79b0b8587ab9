"""Console entry points.

Importing this package prepares the process's concurrency mode first
(eventlet monkey patching must precede every other import), which is why
each ``nova/cmd`` module imports ``nova.cmd`` before anything else.
"""

from nova import concurrency

concurrency.setup()
