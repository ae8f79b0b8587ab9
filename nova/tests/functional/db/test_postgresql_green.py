"""psycopg2 under eventlet: imported only by a process that uses
PostgreSQL, and green before its first connection."""

import json
import textwrap

from nova import test
from nova.tests.fixtures import concurrency as concurrency_fixture
from nova.tests.fixtures import database, services

PROBE = textwrap.dedent('''
    import json, sys
    from nova import concurrency
    concurrency.setup()
    out = {'imported_by_setup': 'psycopg2' in sys.modules}
    from nova.db import api  # noqa: F401  (registers the connect hook)
    import sqlalchemy as sa
    engine = sa.create_engine(sys.argv[1])
    with engine.connect() as connection:
        out['answer'] = connection.execute(sa.text('SELECT 1')).scalar()
    import psycopg2.extensions
    out['waits_green'] = psycopg2.extensions.get_wait_callback() is not None
    print(json.dumps(out))
''')


class TestPsycopg2UnderEventlet(test.TestCase):

    def setUp(self):
        super().setUp()
        self.url = database.SERVER_URLS['postgresql']
        services.require_url(self, self.url, 'PostgreSQL')

    def _probe(self, mode: str) -> dict:
        result = concurrency_fixture.run_in_mode(
            mode, PROBE.replace('sys.argv[1]', repr(self.url)))
        self.assertEqual(0, result.returncode, result.stderr)
        return json.loads(result.stdout.strip().splitlines()[-1])

    def test_eventlet_greens_psycopg2_at_its_first_connection(self):
        out = self._probe('eventlet')
        self.assertFalse(out['imported_by_setup'])
        self.assertEqual(1, out['answer'])
        self.assertTrue(out['waits_green'])

    def test_threading_leaves_psycopg2_blocking(self):
        out = self._probe('threading')
        self.assertFalse(out['imported_by_setup'])
        self.assertEqual(1, out['answer'])
        self.assertFalse(out['waits_green'])
