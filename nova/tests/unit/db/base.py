"""Base test case for tests that need nova's database.

Test modules that run on every backend set::

    load_tests = testscenarios.load_tests_apply_scenarios

and subclass :class:`DBTestCase`; each test then runs on SQLite, MariaDB
and PostgreSQL (``...(sqlite)``, ``...(mysql)``, ``...(postgresql)`` in
the test IDs).  Server backends skip when the server is down, unless
NOVA_TEST_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from nova import context, test
from nova.tests.fixtures import database


class DBTestCase(test.TestCase):

    scenarios = database.BACKEND_SCENARIOS
    backend = 'sqlite'

    def setUp(self) -> None:
        super().setUp()
        self.database = self.useFixture(database.Database(self.backend))
        self.ctx = context.RequestContext('fake-user', 'fake-project')
        self.admin = context.get_admin_context()

    def count_statements(self) -> database.StatementCounter:
        """A counter of the SQL statements run from now on."""
        assert self.database.engine is not None
        return self.useFixture(
            database.StatementCounter(self.database.engine))


def run_concurrently(count: int, work: Callable[[int], Any],
                     ) -> tuple[list[Any], list[BaseException]]:
    """Run ``work(i)`` in ``count`` real threads released together.

    Returns the results and the exceptions raised, each in no particular
    order.  The barrier makes the calls overlap as much as threads can;
    correctness must not depend on how they interleave.
    """
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        barrier.wait()
        try:
            result = work(index)
        except BaseException as error:  # noqa: B036 (reported to the test)
            with lock:
                errors.append(error)
        else:
            with lock:
                results.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
