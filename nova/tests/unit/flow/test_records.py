"""InMemoryRecorder: what it keeps and how it is queried."""

from nova.flow import records
from nova.flow.records import InMemoryRecorder, RunInfo, RunRecord
from nova.tests.unit.flow import fakes


def _info(run_id='run-1', host='host-a', subject='inst-1'):
    return RunInfo(run_id, 'test.demo', '1.0', 'req', 'user', 'project',
                   subject, host, 1.0)


class TestInMemoryRecorder(fakes.FlowTestCase):

    def test_stage_lifecycle(self):
        recorder = InMemoryRecorder()
        info = _info()
        recorder.run_started(info)
        recorder.stage_started(info, 'test.demo.a', 2.0)
        recorder.stage_finished(info, 'test.demo.a', records.SUCCESS, 2.0,
                                3.0, None)
        recorder.stage_started(info, 'test.demo.b', 3.0)
        failure = records.Failure(ValueError('nope'), 'test.demo.b')
        recorder.stage_finished(info, 'test.demo.b', records.ERROR, 3.0, 4.0,
                                failure)
        recorder.stage_reverted(info, 'test.demo.a', records.REVERTED, 4.0,
                                5.0, None)
        recorder.run_finished(info, records.ERROR, 6.0, failure)
        run = recorder.get('run-1')
        a, b = run.stages
        self.assertEqual(('test.demo.a', 2.0, 3.0, records.SUCCESS),
                         (a.stage_id, a.started_at, a.finished_at, a.result))
        self.assertEqual(records.REVERTED, a.revert_result)
        self.assertEqual(records.ERROR, b.result)
        self.assertIn('ValueError: nope', b.traceback)
        self.assertEqual(records.ERROR, run.result)
        self.assertEqual(6.0, run.finished_at)
        self.assertEqual('ValueError: nope', run.message)
        self.assertEqual(['test.demo.a'], run.completed_stage_ids)
        self.assertEqual(['test.demo.a', 'test.demo.b'],
                         run.started_stage_ids)

    def test_stage_finishing_out_of_order_is_found(self):
        recorder = InMemoryRecorder()
        info = _info()
        recorder.run_started(info)
        recorder.stage_started(info, 'test.demo.a', 1.0)
        recorder.stage_started(info, 'test.demo.b', 2.0)
        recorder.stage_finished(info, 'test.demo.a', records.SUCCESS, 1.0,
                                3.0, None)
        self.assertEqual(records.SUCCESS,
                         recorder.get('run-1').stage('test.demo.a').result)
        self.assertEqual(records.RUNNING,
                         recorder.get('run-1').stage('test.demo.b').result)

    def test_calls_with_another_run_info_of_the_same_run(self):
        # Recovery builds a new RunInfo for the run it continues.
        recorder = InMemoryRecorder()
        recorder.run_started(_info())
        recorder.stage_started(_info(), 'test.demo.a', 1.0)
        recorder.run_finished(_info(), records.ERROR, 2.0, None)
        again = _info()
        recorder.run_started(again)
        self.assertEqual(records.RUNNING, recorder.get('run-1').result)
        recorder.stage_reverted(again, 'test.demo.a', records.REVERTED, 3.0,
                                4.0, None)
        self.assertEqual(records.REVERTED, recorder.get('run-1')
                         .stage('test.demo.a').revert_result)
        self.assertEqual(1, len(recorder.runs))

    def test_unfinished_and_for_subject(self):
        recorder = InMemoryRecorder()
        for run_id, host, subject in (('r1', 'host-a', 'i1'),
                                      ('r2', 'host-b', 'i1'),
                                      ('r3', 'host-a', 'i2')):
            recorder.run_started(_info(run_id, host, subject))
        recorder.run_finished(_info('r3', 'host-a', 'i2'), records.SUCCESS,
                              2.0, None)
        self.assertEqual(['r1'], [r.run_id for r in
                                  recorder.unfinished('host-a')])
        self.assertEqual(['r1', 'r2'],
                         [r.run_id for r in recorder.unfinished()])
        self.assertEqual(['r1', 'r2'],
                         [r.run_id for r in recorder.for_subject('i1')])

    def test_stage_records_are_snapshots(self):
        recorder = InMemoryRecorder()
        info = _info()
        recorder.run_started(info)
        recorder.stage_started(info, 'test.demo.a', 1.0)
        recorder.get('run-1').stages[0].result = 'tampered'
        self.assertEqual(records.RUNNING,
                         recorder.get('run-1').stage('test.demo.a').result)

    def test_run_record_built_from_stage_records(self):
        stage = records.StageRecord('test.demo.a', 1.0, 2.0, records.SUCCESS)
        run = RunRecord(_info(), [stage], records.SUCCESS, 2.0)
        self.assertEqual([stage], run.stages)
        self.assertIn('test.demo', repr(run))

    def test_null_recorder_accepts_every_call(self):
        recorder = records.NullRecorder()
        info = _info()
        recorder.run_started(info)
        recorder.stage_started(info, 'x', 1.0)
        recorder.stage_finished(info, 'x', records.SUCCESS, 1.0, 2.0, None)
        recorder.stage_reverted(info, 'x', records.REVERTED, 1.0, 2.0, None)
        recorder.run_finished(info, records.SUCCESS, 2.0, None)
