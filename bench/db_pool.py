"""Pool benchmark: what one transaction costs with and without nova_pool.

What runs
---------

One process, native threads, against a MariaDB server (``--mysql-url``,
default ``mysql+pymysql://root@127.0.0.1/test``).  Two engines made as
nova makes them, by oslo.db's ``engines.create_engine``: one with
nova's default ``[database] connection_parameters = plugin=nova_pool``
(nova/db/pool.py: the pool pings a connection only after it has been
idle ``[database] pool_ping_after`` seconds, 1, and rolls back at
check-in only a transaction that may be open), the reference without
it (oslo.db alone: a ping at every check-out, a ROLLBACK at every
check-in).  Each runs ``--transactions`` (3000) transactions of one
``SELECT 1`` back to back, one connection reused, in ``--rounds`` (5)
rounds that alternate which engine goes first.

How each figure is measured
---------------------------

* client CPU per transaction: this process's ``time.process_time()``
  over the round, divided by the transactions;
* MariaDB CPU per transaction: the server process's utime + stime
  (psutil, as bench/scale.py reads it) over the same time; another
  client of the server (a CI run) adds to it;
* wall time per transaction;
* round trips per transaction: the server's ``Com_admin_commands``
  (COM_PING), ``Com_commit`` and ``Com_rollback`` session counters of
  the engine's connection over the round (exact: the connection is the
  round's only one).

Each figure is the median of the rounds, printed with the ratio of the
reference (oslo.db alone) to nova_pool.

Usage::

    python bench/db_pool.py [--mysql-url URL] [--transactions 3000]
        [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

import moves  # bench/, this script's directory
import scale

PLUGIN = 'plugin=nova_pool'
COUNTERS = ('Com_admin_commands', 'Com_commit', 'Com_rollback')


def one_round(url: str, parameters: str, count: int) -> dict[str, float]:
    import sqlalchemy as sa
    from oslo_db.sqlalchemy import engines
    engine = engines.create_engine(url, connection_parameters=parameters,
                                   max_pool_size=1, max_overflow=0,
                                   max_retries=0)
    try:
        def counters() -> dict[str, int]:
            with engine.begin() as conn:
                rows = conn.execute(sa.text(
                    'SHOW SESSION STATUS WHERE Variable_name IN '
                    "('Com_admin_commands', 'Com_commit', "
                    "'Com_rollback')"))
                return {name: int(value) for name, value in rows}

        before = counters()
        server = scale.server_cpu()['MariaDB']
        cpu = time.process_time()
        wall = time.perf_counter()
        for _ in range(count):
            with engine.begin() as conn:
                conn.execute(sa.text('SELECT 1'))
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        server = scale.server_cpu()['MariaDB'] - server
        after = counters()
    finally:
        engine.dispose()
    # The first read's reset (if any) and the second read's check-out
    # and COMMIT fall between the two reads: one transaction more.
    trips = {name: (after[name] - before[name]) / (count + 1)
             for name in COUNTERS}
    return {'client_us': cpu / count * 1e6,
            'server_us': server / count * 1e6,
            'wall_us': wall / count * 1e6,
            'round_trips': 1 + sum(trips.values()),  # + the SELECT
            **trips}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--mysql-url',
                        default='mysql+pymysql://root@127.0.0.1/test')
    parser.add_argument('--transactions', type=int, default=3000)
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args()
    import nova.conf
    nova.conf.CONF([], project='nova')
    results: dict[str, list[dict[str, float]]] = {'nova_pool': [],
                                                  'oslo.db alone': []}
    kinds = [('nova_pool', PLUGIN), ('oslo.db alone', '')]
    for round_ in range(args.rounds):
        for name, parameters in (kinds if round_ % 2 == 0 else
                                 list(reversed(kinds))):
            results[name].append(one_round(args.mysql_url, parameters,
                                           args.transactions))
    print(f'pool benchmark: {args.transactions} transactions of one '
          f'SELECT 1 per round, {args.rounds} rounds, one connection, '
          f'MariaDB at {args.mysql_url}; medians')
    figures = ('client_us', 'server_us', 'wall_us', 'round_trips',
               *COUNTERS)
    medians: dict[str, dict[str, float]] = {
        name: {f: statistics.median(r[f] for r in rows) for f in figures}
        for name, rows in results.items()}
    header = ['engine', 'client CPU us/txn', 'MariaDB CPU us/txn',
              'wall us/txn', 'round trips/txn', 'pings', 'COMMITs',
              'ROLLBACKs']
    rows = [[name, f'{m["client_us"]:.0f}', f'{m["server_us"]:.0f}',
             f'{m["wall_us"]:.0f}', f'{m["round_trips"]:.2f}',
             *(f'{m[c]:.2f}' for c in COUNTERS)]
            for name, m in medians.items()]
    moves._table(header, rows)
    ours, ref = medians['nova_pool'], medians['oslo.db alone']
    ratios: list[tuple[str, Any]] = [
        (label, ref[key] / ours[key]) for label, key in (
            ('client CPU', 'client_us'), ('MariaDB CPU', 'server_us'),
            ('wall', 'wall_us'), ('round trips', 'round_trips'))
        if ours[key]]
    print('against oslo.db alone (reference / nova_pool): ' + ', '.join(
        f'{label} {ratio:.2f}x' for label, ratio in ratios))
    return 0


if __name__ == '__main__':
    sys.exit(main())
