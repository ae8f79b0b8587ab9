"""A process killed inside a stage leaves a record recovery can finish.

The child process runs a recorded flow and SIGKILLs itself inside its
third stage; the test then plays the restarted service: it finds the run
among the host's unfinished runs, with the stages that started and the
ones that completed, and reverts it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import testscenarios

import nova
from nova import context, test
from nova.db import api as db
from nova.db import recorder as db_recorder
from nova.flow import FlowEngine
from nova.tests.fixtures import database
from nova.tests.functional.db import crashing_flow

load_tests = testscenarios.load_tests_apply_scenarios


class CrashRecoveryTestCase(test.TestCase):

    scenarios = database.BACKEND_SCENARIOS
    backend = 'sqlite'

    def setUp(self) -> None:
        super().setUp()
        self.database = self.useFixture(database.Database(self.backend))
        self.ctx = context.RequestContext('user', 'project')
        self.instance = db.instance_create(self.ctx, {'display_name': 'vm'})
        self.action = db.action_start(self.ctx, self.instance['uuid'],
                                      'create')

    def _run_child(self) -> None:
        child = subprocess.run(
            [sys.executable, '-m', crashing_flow.__name__,
             self.database.url, self.instance['uuid'], self.ctx.request_id],
            capture_output=True, text=True, timeout=120,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(
                nova.__file__))))
        self.assertEqual(-signal.SIGKILL, child.returncode, child.stderr)

    def test_killed_run_is_found_and_reverted(self):
        self._run_child()
        recorder = db_recorder.DBRecorder()
        runs = recorder.unfinished_runs(self.ctx, 'crash-host')
        self.assertEqual(1, len(runs))
        run = runs[0]
        self.assertEqual(self.instance['uuid'], run.subject)
        self.assertEqual(self.action['id'], run.action_id)
        self.assertEqual(['test.crashing.a', 'test.crashing.b',
                          'test.crashing.c'], run.started_stage_ids)
        # b's finish was held back and written with c's start, before c
        # ran: the crash in c lost nothing recovery needs.
        self.assertEqual(['test.crashing.a', 'test.crashing.b'],
                         run.completed_stage_ids)

        engine = FlowEngine.load(flows=[crashing_flow.crashing_flow()],
                                 recorder=recorder, host='crash-host')
        state = crashing_flow.CrashState(self.instance['uuid'])
        engine.runner('test.crashing').revert_interrupted(
            context.get_admin_context(), state, run.run_id,
            run.started_stage_ids)
        self.assertEqual(['c', 'b', 'a'], state.reverted)
        self.assertEqual([], recorder.unfinished_runs(self.ctx,
                                                      'crash-host'))
        done = recorder.get_run(self.ctx, run.run_id)
        self.assertEqual('reverted', done.status)
        self.assertIn('interrupted', done.message)
        events = {e['event']: e for e in
                  db.action_events_get(self.ctx, self.action['id'])}
        # Recovery says what it did in an event of its own.
        self.assertIn('reverted on restart',
                      events.pop('test.crashing:recovery')['details'])
        self.assertEqual({'reverted'},
                         {e['revert_result'] for e in events.values()})
