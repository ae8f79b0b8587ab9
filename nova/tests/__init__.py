"""nova's tests.

The test processes run on native threads: importing ``nova.cmd`` (as the
nova-manage tests do) would otherwise monkey-patch a test process halfway
through its run, under objects that already hold native locks.  Service
processes that tests start get their concurrency mode set explicitly (see
nova.tests.functional.multiprocess), and nova.tests.unit.test_concurrency
runs each mode in a subprocess of its own.
"""

import os

os.environ.setdefault('NOVA_CONCURRENCY', 'threading')
