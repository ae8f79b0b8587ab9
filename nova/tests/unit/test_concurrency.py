"""nova.concurrency: the same API on native threads and on eventlet.

The in-process tests run in the test runner, which is not monkey-patched
(so on native threads whatever NOVA_CONCURRENCY says); each mode is then
proven in a fresh interpreter, since patching is process-wide.
"""

import ast
import gc
import json
import os
import subprocess
import sys
import textwrap
import threading
from unittest import mock

import fixtures
import testtools

from nova import concurrency, test
from nova.tests.fixtures import concurrency as concurrency_fixture

TIMEOUT = 30


def futurist_dynamic() -> type:
    import futurist
    return futurist.DynamicThreadPoolExecutor


class TestPrimitives(test.TestCase):

    def test_spawn_returns_the_result(self):
        self.assertEqual(5, concurrency.spawn(lambda a, b: a + b, 2,
                                              b=3).wait(TIMEOUT))

    def test_wait_reraises_the_error(self):
        def fail():
            raise KeyError('x')

        handle = concurrency.spawn(fail)
        self.assertRaises(KeyError, handle.wait, TIMEOUT)
        self.assertTrue(handle.done())

    def test_wait_times_out_while_running(self):
        release = concurrency.Event()
        handle = concurrency.spawn(release.wait)
        self.assertRaises(TimeoutError, handle.wait, 0.01)
        self.assertFalse(handle.done())
        release.set()
        self.assertTrue(handle.wait(TIMEOUT))

    def test_unretrieved_error_is_logged(self):
        def job():
            return 1 / 0

        handle = concurrency.spawn(job)
        self.assertRaises(ZeroDivisionError, handle.future.result, TIMEOUT)
        with mock.patch.object(concurrency.LOG, 'error') as error:
            del handle
            gc.collect()
        self.assertEqual(1, error.call_count)
        self.assertIn('job', error.call_args[0][1])
        self.assertIsInstance(error.call_args[0][2], ZeroDivisionError)

    def test_retrieved_error_is_not_logged_again(self):
        handle = concurrency.spawn(lambda: 1 / 0)
        self.assertRaises(ZeroDivisionError, handle.wait, TIMEOUT)
        with mock.patch.object(concurrency.LOG, 'error') as error:
            del handle
            gc.collect()
        self.assertEqual(0, error.call_count)

    def test_spawn_runs_on_a_futurist_executor(self):
        import futurist
        handle = concurrency.spawn(lambda: 1)
        self.assertIsInstance(handle.future, futurist.Future)
        self.assertIsInstance(concurrency._default_executor(),
                              futurist.ThreadPoolExecutor)
        self.assertEqual(1, handle.wait(TIMEOUT))

    def test_idle_threads_do_not_pile_up(self):
        # futurist's plain ThreadPoolExecutor started a thread at every
        # submission up to max_workers (1,000) and kept them all.
        self.assertIsInstance(concurrency._default_executor(),
                              futurist_dynamic())
        before = threading.active_count()
        for _ in range(300):
            concurrency.spawn(lambda: None).wait(TIMEOUT)
        self.assertLess(threading.active_count() - before, 10)

    def test_spawned_functions_run_concurrently(self):
        a, b = concurrency.Event(), concurrency.Event()

        def first():
            a.set()
            return b.wait(TIMEOUT)

        def second():
            b.set()
            return a.wait(TIMEOUT)

        h1, h2 = concurrency.spawn(first), concurrency.spawn(second)
        self.assertEqual([True, True], [h1.wait(TIMEOUT), h2.wait(TIMEOUT)])

    def test_keyed_lock_serialises_one_key_only(self):
        locks = concurrency.KeyedLock()
        holding, release = concurrency.Event(), concurrency.Event()

        def hold():
            with locks.lock('a'):
                holding.set()
                release.wait(TIMEOUT)

        handle = concurrency.spawn(hold)
        self.assertTrue(holding.wait(TIMEOUT))
        with testtools.ExpectedException(TimeoutError):
            with locks.lock('a', timeout=0):
                pass
        with locks.lock('b', timeout=0):
            self.assertEqual(2, len(locks))
        release.set()
        handle.wait(TIMEOUT)
        with locks.lock('a', timeout=0):
            pass

    def test_keyed_lock_entries_do_not_leak(self):
        locks = concurrency.KeyedLock()
        for key in range(100):
            with locks.lock(key):
                pass
        with testtools.ExpectedException(ValueError):
            with locks.lock('x'):
                raise ValueError()
        self.assertEqual(0, len(locks))

    def test_lock_for_is_one_process_wide_keyed_lock(self):
        with concurrency.lock_for('uuid-1'):
            self.assertEqual(1, len(concurrency.keyed_lock()))
            error = self.assertRaises(TimeoutError, concurrency.spawn(
                self._try_lock, 'uuid-1').wait, TIMEOUT)
            self.assertIn("lock 'uuid-1' not acquired", str(error))
        self.assertEqual(0, len(concurrency.keyed_lock()))

    @staticmethod
    def _try_lock(key):
        with concurrency.lock_for(key, timeout=0):
            pass

    def test_pool_runs_at_most_size_at_once(self):
        pool = concurrency.Pool(2)
        release = concurrency.Event()
        started = concurrency.Semaphore(0)

        def job():
            started.release()
            release.wait(TIMEOUT)

        pool.spawn(job)
        pool.spawn(job)
        for _ in range(2):
            self.assertTrue(started.acquire(timeout=TIMEOUT))
        self.assertEqual((2, 0), (pool.running(), pool.free()))
        # A third must wait for a slot: spawning it blocks its caller.
        third = concurrency.spawn(pool.spawn, job)
        self.assertRaises(TimeoutError, third.wait, 0.05)
        self.assertRaises(TimeoutError, pool.waitall, 0.01)
        release.set()
        third.wait(TIMEOUT)
        pool.waitall(TIMEOUT)
        self.assertEqual(0, pool.running())

    def test_pool_handles_carry_results_and_errors(self):
        pool = concurrency.Pool(3)
        ok = pool.spawn(lambda: 'ok')
        bad = pool.spawn(lambda: {}['missing'])
        pool.waitall(TIMEOUT)
        self.assertEqual('ok', ok.wait(0))
        self.assertRaises(KeyError, bad.wait, 0)
        self.assertRaises(ValueError, concurrency.Pool, 0)

    def test_map_bounded_overlaps_up_to_workers_in_order(self):
        lock = concurrency.Lock()
        running = [0]
        most = [0]
        two_in = concurrency.Event()

        def job(item):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
                if running[0] == 2:
                    two_in.set()
            # Each waits until two ran together: with one worker at a
            # time this would time out, so it proves the overlap.
            self.assertTrue(two_in.wait(TIMEOUT))
            with lock:
                running[0] -= 1
            return item * 10

        self.assertEqual([10, 20, 30, 40, 50],
                         concurrency.map_bounded(job, [1, 2, 3, 4, 5], 2))
        self.assertEqual(2, most[0])

    def test_map_bounded_runs_every_item_then_raises_the_first_error(self):
        done = []

        def job(item):
            if item in (2, 3):
                raise KeyError(item)
            done.append(item)

        for workers in (1, 3):
            del done[:]
            error = self.assertRaises(KeyError, concurrency.map_bounded,
                                      job, [1, 2, 3, 4], workers)
            self.assertEqual(KeyError(2).args, error.args)
            self.assertEqual([1, 4], sorted(done))

    def test_periodic_runs_until_stopped_and_survives_errors(self):
        calls = []
        third = concurrency.Event()

        def tick():
            calls.append(1)
            if len(calls) == 3:
                third.set()
            if len(calls) == 1:
                raise RuntimeError('first run fails')

        logger = self.useFixture(fixtures.FakeLogger())
        periodic = concurrency.start_periodic(tick, 0.001)
        self.assertTrue(third.wait(TIMEOUT))
        periodic.stop()
        periodic.wait(TIMEOUT)
        self.assertIn('Periodic task', logger.output)
        self.assertIn('first run fails', logger.output)
        count = len(calls)
        self.assertGreaterEqual(count, 3)
        # Stopped means no further runs.
        self.assertEqual(count, len(calls))

    def test_periodic_initial_delay_can_be_cut_by_stop(self):
        called = []
        periodic = concurrency.start_periodic(lambda: called.append(1), 60,
                                              initial_delay=60)
        periodic.stop()
        periodic.wait(TIMEOUT)
        self.assertEqual([], called)

    def test_run_in_native_thread_unpatched_is_a_call(self):
        self.assertEqual(3, concurrency.run_in_native_thread(len, 'abc'))

    def test_unpatched_process_uses_the_threading_executor(self):
        self.assertFalse(concurrency.is_green())
        self.assertEqual('threading', concurrency.executor_name())


class TestCooperativeYield(test.TestCase):
    """cooperative_yield: a turn for others once per switch interval."""

    def setUp(self):
        super().setUp()
        self.now = 100.0
        self.useFixture(fixtures.MockPatchObject(
            concurrency.time, 'monotonic', lambda: self.now))
        self.sleep = self.useFixture(fixtures.MockPatchObject(
            concurrency.time, 'sleep')).mock
        self.useFixture(fixtures.MockPatchObject(
            concurrency, '_turn_started', float('-inf')))
        self.slice = concurrency.sys.getswitchinterval()

    def test_native_threads_never_yield(self):
        self.useFixture(fixtures.MockPatchObject(concurrency, '_green',
                                                 False))
        concurrency.cooperative_yield()
        self.sleep.assert_not_called()

    def test_green_threads_yield_once_per_slice(self):
        self.useFixture(fixtures.MockPatchObject(concurrency, '_green',
                                                 True))
        concurrency.cooperative_yield()
        self.sleep.assert_called_once_with(0)
        self.now += self.slice * 0.9
        concurrency.cooperative_yield()
        self.assertEqual(1, self.sleep.call_count)
        self.now += self.slice * 0.2
        concurrency.cooperative_yield()
        self.assertEqual(2, self.sleep.call_count)

    def test_a_resumed_thread_gets_a_whole_slice(self):
        self.useFixture(fixtures.MockPatchObject(concurrency, '_green',
                                                 True))

        def others_run(seconds):
            self.now += 3 * self.slice

        self.sleep.side_effect = others_run
        concurrency.cooperative_yield()
        self.now += self.slice * 0.9
        concurrency.cooperative_yield()
        self.assertEqual(1, self.sleep.call_count)


class TestMode(test.TestCase):

    def _mode(self, value=None, upstream=None):
        env = {concurrency.ENV_VAR: value,
               concurrency.UPSTREAM_ENV_VAR: upstream}
        with mock.patch.dict(os.environ, {}, clear=False), \
                mock.patch.object(concurrency, '_mode', None):
            for name, setting in env.items():
                if setting is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = setting
            return concurrency.mode()

    def test_default_mode_is_eventlet(self):
        self.assertEqual('eventlet', self._mode(None))
        self.assertEqual('eventlet', self._mode(''))
        self.assertEqual('eventlet', self._mode(upstream=''))

    def test_mode_comes_from_the_environment(self):
        self.assertEqual('threading', self._mode('threading'))
        self.assertEqual('threading', self._mode(' Threading '))

    def test_upstreams_variable_selects_native_threads(self):
        for true in ('1', 'true', 'True', 'yes'):
            self.assertEqual('threading', self._mode(upstream=true))
        for false in ('0', 'false', 'no'):
            self.assertEqual('eventlet', self._mode(upstream=false))

    def test_both_variables_may_be_set_when_they_agree(self):
        self.assertEqual('threading', self._mode('threading', upstream='1'))
        self.assertEqual('eventlet', self._mode('eventlet', upstream='0'))

    def test_disagreeing_variables_are_refused_naming_both(self):
        error = self.assertRaises(concurrency.ConcurrencyModeError,
                                  self._mode, 'eventlet', upstream='1')
        self.assertIn('OS_NOVA_DISABLE_EVENTLET_PATCHING', str(error))
        self.assertIn('NOVA_CONCURRENCY', str(error))

    def test_unknown_values_are_refused_naming_the_variable(self):
        error = self.assertRaises(concurrency.ConcurrencyModeError,
                                  self._mode, 'asyncio')
        self.assertIn('NOVA_CONCURRENCY', str(error))
        error = self.assertRaises(concurrency.ConcurrencyModeError,
                                  self._mode, upstream='maybe')
        self.assertIn('OS_NOVA_DISABLE_EVENTLET_PATCHING', str(error))


class TestEventletIsImportedOnlyHere(test.TestCase):

    def test_no_other_nova_module_imports_eventlet(self):
        root = os.path.dirname(concurrency.__file__)
        offenders = []
        for directory, _, files in os.walk(root):
            for name in files:
                path = os.path.join(directory, name)
                if not name.endswith('.py') or path == concurrency.__file__:
                    continue
                with open(path, encoding='utf-8') as f:
                    tree = ast.parse(f.read(), path)
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        modules = [alias.name for alias in node.names]
                    elif isinstance(node, ast.ImportFrom):
                        modules = [node.module or '']
                    else:
                        continue
                    if any(m == 'eventlet' or m.startswith('eventlet.')
                           for m in modules):
                        offenders.append(f'{path}:{node.lineno}')
        self.assertEqual([], offenders)


# Run in a fresh interpreter per mode; prints one JSON object of findings.
MODE_PROBE = textwrap.dedent('''
    import json, sys
    from nova import concurrency
    mode = concurrency.setup()
    assert concurrency.setup() == mode  # idempotent
    import threading
    out = {'mode': mode, 'green': concurrency.is_green(),
           'executor': concurrency.executor_name(),
           'eventlet_imported': 'eventlet' in sys.modules}
    if concurrency.is_green():
        from eventlet import patcher
        out['thread_patched'] = patcher.is_monkey_patched('thread')
        real_ident = patcher.original('threading').get_ident
    else:
        real_ident = threading.get_ident
    main_thread = real_ident()

    # Two tasks that can only finish if they run at the same time.
    a, b = concurrency.Event(), concurrency.Event()
    def first():
        a.set()
        return b.wait(10), real_ident()
    def second():
        b.set()
        return a.wait(10), real_ident()
    h1, h2 = concurrency.spawn(first), concurrency.spawn(second)
    (ok1, t1), (ok2, t2) = h1.wait(10), h2.wait(10)
    out['rendezvous'] = ok1 and ok2
    # Green threads share the main OS thread; native ones do not.
    out['same_os_thread'] = t1 == main_thread and t2 == main_thread
    out['native_call_elsewhere'] = (
        concurrency.run_in_native_thread(real_ident) != main_thread)

    def fail():
        raise KeyError('k')
    try:
        concurrency.spawn(fail).wait(10)
    except KeyError:
        out['error_reraised'] = True

    held, release = concurrency.Event(), concurrency.Event()
    def hold():
        with concurrency.lock_for('i1'):
            held.set()
            release.wait(10)
    holder = concurrency.spawn(hold)
    held.wait(10)
    try:
        with concurrency.lock_for('i1', timeout=0.01):
            out['keyed_lock'] = 'not exclusive'
    except TimeoutError:
        out['keyed_lock'] = 'exclusive'
    release.set()
    holder.wait(10)
    out['keyed_lock_entries'] = len(concurrency.keyed_lock())

    pool = concurrency.Pool(3)
    active, peak, guard = [0], [0], concurrency.Lock()
    def job():
        with guard:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        concurrency.sleep(0.01)
        with guard:
            active[0] -= 1
    for _ in range(9):
        pool.spawn(job)
    pool.waitall(10)
    out['pool_peak'] = peak[0]

    ticks, done = [], concurrency.Event()
    def tick():
        ticks.append(1)
        if len(ticks) == 3:
            done.set()
    periodic = concurrency.start_periodic(tick, 0.001)
    out['periodic'] = done.wait(10)
    periodic.stop()
    periodic.wait(10)

    # A task that never waits, offering cooperative yields for 0.2 s,
    # and one that counts its turns meanwhile.
    import time
    def hog(offer):
        turns[0] = 0
        end = time.monotonic() + 0.2
        while time.monotonic() < end:
            if offer:
                concurrency.cooperative_yield()
        return turns[0]
    def count_turns(stop):
        while not stop.is_set():
            turns[0] += 1
            concurrency.sleep(0.0001)
    for offer in (False, True):
        turns, stop = [0], concurrency.Event()
        counter = concurrency.spawn(count_turns, stop)
        concurrency.sleep(0.01)
        out[f'turns_during_hog_offering_{offer}'] = \
            concurrency.spawn(hog, offer).wait(10)
        stop.set()
        counter.wait(10)
    print(json.dumps(out))
''')


class TestModes(test.TestCase):

    def _probe(self, mode):
        result = concurrency_fixture.run_in_mode(mode, MODE_PROBE)
        self.assertEqual(0, result.returncode, result.stderr)
        return json.loads(result.stdout.strip().splitlines()[-1])

    def _assert_works(self, out):
        self.assertTrue(out['rendezvous'])
        self.assertTrue(out['error_reraised'])
        self.assertEqual('exclusive', out['keyed_lock'])
        self.assertEqual(0, out['keyed_lock_entries'])
        self.assertEqual(3, out['pool_peak'])
        self.assertTrue(out['periodic'])

    def test_eventlet_mode_runs_on_patched_green_threads(self):
        out = self._probe('eventlet')
        self._assert_works(out)
        # A green task that never waits starves the others, unless it
        # offers cooperative yields: then they run about once per switch
        # interval (5 ms) of its 0.2 s.
        self.assertEqual(0, out['turns_during_hog_offering_False'])
        self.assertGreaterEqual(out['turns_during_hog_offering_True'], 1)
        self.assertLessEqual(out['turns_during_hog_offering_True'], 60)
        self.assertEqual('eventlet', out['mode'])
        self.assertTrue(out['green'])
        self.assertTrue(out['thread_patched'])
        self.assertEqual('eventlet', out['executor'])
        self.assertTrue(out['same_os_thread'])
        self.assertTrue(out['native_call_elsewhere'])

    def test_threading_mode_runs_on_native_threads_without_eventlet(self):
        out = self._probe('threading')
        self._assert_works(out)
        self.assertEqual('threading', out['mode'])
        self.assertFalse(out['green'])
        self.assertFalse(out['eventlet_imported'])
        self.assertEqual('threading', out['executor'])
        self.assertFalse(out['same_os_thread'])

    def test_upstreams_variable_runs_a_process_on_native_threads(self):
        result = subprocess.run(
            [sys.executable, '-c', textwrap.dedent('''
                import json, sys
                from nova import concurrency
                concurrency.setup()
                print(json.dumps({'mode': concurrency.mode(),
                                  'eventlet': 'eventlet' in sys.modules}))
                ''')],
            env=concurrency_fixture.python_env(
                None, OS_NOVA_DISABLE_EVENTLET_PATCHING='true'),
            capture_output=True, text=True, timeout=120)
        self.assertEqual(0, result.returncode, result.stderr)
        out = json.loads(result.stdout.strip().splitlines()[-1])
        self.assertEqual({'mode': 'threading', 'eventlet': False}, out)

    def test_bad_mode_stops_setup(self):
        result = concurrency_fixture.run_in_mode(
            'gevent', 'from nova import concurrency; concurrency.setup()')
        self.assertNotEqual(0, result.returncode)
        self.assertIn("NOVA_CONCURRENCY='gevent' is not a concurrency mode",
                      result.stderr)
