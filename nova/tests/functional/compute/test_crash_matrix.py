"""The crash matrix: nova-compute killed before and after every stage of
every compute flow, and the conductor, source or destination of every
move, and what a restart makes of it; and a failure injected in every
stage of every move, in the process that runs it.

Generated from the flows' own stage lists (a new stage is covered without
editing this file), on the multi-process harness of test_crash_recovery
and test_crash_recovery_actions (RabbitMQ, MariaDB, SIGKILL), whose test
methods assert the end state each flow's docstring promises:

* ``crash-before``: killed after the previous stage, with the stage
  recorded as started but not run (for a stage whose start is held back,
  not even that);
* ``crash-after``: killed after the stage's work, before its completion
  is recorded (inside its transaction, for a transactional stage, which
  rolls back with the process).

A resume flow ends as if it had completed; a revert flow ends reverted,
unless the kill came after its point of no return, when it ends
completed; a delete always ends deleted.

This is the long matrix: it runs as a step of its own
(``tools/run-crash-matrix.sh``), not in the default test command, whose
crash tests take one or two stages per flow.
"""

from __future__ import annotations

import testscenarios
from nova_fault_injection_hooks import stage_ids

from nova.flow import FlowEngine
from nova.tests.functional.compute import test_crash_recovery as build
from nova.tests.functional.compute import test_crash_recovery_actions as act
from nova.tests.functional.compute import test_move_processes as moves
from nova.tests.functional.compute import test_multi_create_processes as multi

load_tests = testscenarios.load_tests_apply_scenarios

KINDS = ('crash-before', 'crash-after')


def _committed(stage_id: str) -> bool:
    """Strictly after its flow's point of no return."""
    flow = stage_id.rsplit('.', 1)[0]
    engine = FlowEngine.load()
    while flow not in engine.plans:
        if '.' not in flow:
            raise KeyError(f'no registered flow has stage {stage_id}')
        flow = flow.rsplit('.', 1)[0]
    leaf = engine.plan(flow).leaves[stage_id]
    return leaf.committed and not leaf.commits


def matrix(flows, committed=None):
    """Every (stage, kind) of ``flows``; with ``committed``, only the
    stages on that side of the point of no return."""
    found = []
    for flow in flows:
        for stage_id in stage_ids(flow):
            if committed is not None and _committed(stage_id) != committed:
                continue
            for kind in KINDS:
                found.append((f'{stage_id.removeprefix("compute.")}:{kind}',
                              {'stage_id': stage_id, 'kind': kind}))
    return found


class TestBuildMatrix(build.TestBuildCrash):
    scenarios = matrix(['compute.build_instance'], committed=False)


class TestBuildPastPointOfNoReturnMatrix(
        build.TestBuildCrashAfterPointOfNoReturn):
    scenarios = matrix(['compute.build_instance'], committed=True)


class TestTerminateMatrix(build.TestTerminateCrash):
    scenarios = matrix(['compute.terminate_instance'])


class TestResumedActionsMatrix(act.TestResumedActions):
    scenarios = matrix(sorted(act.TestResumedActions.STEPS))


class TestResumedShelvingMatrix(act.TestResumedShelving):
    scenarios = matrix(['compute.shelve_instance',
                        'compute.shelve_offload_instance',
                        'compute.unshelve_instance'])


class TestResumedVolumeAndInterfaceMatrix(act.TestResumedVolumeAndInterface):
    scenarios = matrix(['compute.attach_volume', 'compute.detach_volume',
                        'compute.detach_interface'])


class TestRevertedActionsMatrix(act.TestRevertedActions):
    scenarios = matrix(['compute.rescue_instance',
                        'compute.snapshot_instance'])
    scenarios += matrix(['compute.rebuild_instance'], committed=False)


class TestRevertedCallsMatrix(act.TestRevertedCalls):
    """The flows the API calls (and waits for): the caller saw the call
    fail, so each ends reverted."""

    scenarios = matrix(['compute.attach_interface',
                        'compute.reserve_block_device_name'])


class TestRevertedCrashDumpMatrix(act.TestRevertedCrashDump):
    scenarios = matrix(['compute.trigger_crash_dump'])


class TestFinishedRebuildMatrix(act.TestFinishedRebuild):
    scenarios = matrix(['compute.rebuild_instance'], committed=True)


class TestResizeMatrix(moves.TestResizeCrash):
    """The conductor, the source or the destination - whichever runs
    the stage - killed before and after every stage of every flow a
    resize runs."""

    scenarios = moves.move_scenarios(moves.RESIZE_FLOWS, kinds=KINDS)


class TestConfirmResizeMatrix(moves.TestConfirmResizeCrash):
    """The conductor or the source killed before and after every stage
    of every flow a confirm of a resize runs."""

    scenarios = moves.move_scenarios(moves.CONFIRM_FLOWS, kinds=KINDS)


class TestRevertResizeMatrix(moves.TestRevertResizeCrash):
    """The conductor, the destination or the source - whichever runs
    the stage - killed before and after every stage of every flow a
    revert of a resize runs."""

    scenarios = moves.move_scenarios(moves.REVERT_FLOWS, kinds=KINDS)


class TestLiveMigrationMatrix(moves.TestLiveMigrationCrash):
    """The conductor, the source or the destination killed before and
    after every stage of every flow a live migration runs."""

    scenarios = moves.move_scenarios(moves.LIVE_FLOWS, kinds=KINDS)


class TestEvacuateMatrix(moves.TestEvacuateCrash):
    """The conductor or the destination killed before and after every
    stage of every flow an evacuation runs."""

    scenarios = moves.move_scenarios(moves.EVACUATE_FLOWS, kinds=KINDS)


class TestResizeFailureMatrix(moves.TestResizeFailure):
    """A failure injected in every stage of every flow a resize runs, in
    the process running it (MariaDB and PostgreSQL in turn)."""

    scenarios = moves.failure_scenarios(moves.RESIZE_FLOWS)


class TestLiveMigrationFailureMatrix(moves.TestLiveMigrationFailure):
    """The same for every stage before a live migration's point of no
    return..."""

    scenarios = moves.failure_scenarios(moves.LIVE_FLOWS)


class TestLiveMigrationLateFailureMatrix(moves.TestLiveMigrationLateFailure):
    """... and after it."""

    scenarios = moves.failure_scenarios(moves.LIVE_FLOWS, late=True)


class TestEvacuateFailureMatrix(moves.TestEvacuateFailure):
    """The same for every stage of every flow an evacuation runs."""

    scenarios = moves.failure_scenarios(moves.EVACUATE_FLOWS)


class TestEvacuateLateFailureMatrix(moves.TestEvacuateLateFailure):
    """... and after its point of no return."""

    scenarios = moves.failure_scenarios(moves.EVACUATE_FLOWS, late=True)


class TestMultiCreateConductorMatrix(multi.TestConductorKilled):
    """nova-conductor killed before and after every stage of
    conductor.build_instances during a multi-create."""

    scenarios = multi.crash_scenarios(kinds=KINDS)


class TestMultiCreateConductorFailureMatrix(multi.TestConductorFails):
    """A failure injected in every stage of conductor.build_instances
    during a multi-create."""

    scenarios = multi.failure_scenarios()


class TestMultiCreatePhasesComputeMatrix(multi.TestComputeKilled):
    """A compute host killed before and after every stage of its
    configure and power-on of one instance of a multi-create."""

    scenarios = multi.phase_crash_scenarios(kinds=KINDS)


class TestLiveMigrationAbortMatrix(moves.TestLiveMigrationAbortCrash):
    """The source killed before and after every stage of its abort of a
    live migration held in progress."""

    scenarios = moves.move_scenarios(moves.ABORT_FLOWS, kinds=KINDS)


class TestLiveMigrationForceCompleteMatrix(
        moves.TestLiveMigrationForceCompleteCrash):
    """The source killed before and after every stage of its
    force-complete of a live migration held in progress."""

    scenarios = moves.move_scenarios(moves.FORCE_COMPLETE_FLOWS, kinds=KINDS)


class TestRollbackLiveMigrationMatrix(moves.TestRollbackLiveMigrationCrash):
    """The destination killed before and after every stage of its
    rollback of a live migration that failed on its source."""

    scenarios = moves.move_scenarios(moves.ROLLBACK_FLOWS, kinds=KINDS)


class TestUnconfigureMatrix(multi.TestUnconfigureKilled):
    """A compute host killed before and after every stage of its
    unconfigure of an instance of a multi-create whose conductor run
    failed after its configure phase."""

    scenarios = multi.unconfigure_scenarios(kinds=KINDS)


class TestDestroyEvacuatedMatrix(moves.TestDestroyEvacuatedCrash):
    """The returning source of an evacuation killed before and after
    every stage of its cleanup, which it runs in its start."""

    scenarios = moves.move_scenarios(moves.DESTROY_EVACUATED_FLOWS,
                                     kinds=KINDS)


class TestLocalDeleteMatrix(build.TestLocalDeleteCrash):
    """nova-conductor killed before and after every stage of its delete
    of an instance with no host."""

    scenarios = build.local_delete_scenarios(kinds=KINDS)
