"""Every stage of every recorded flow is in the crash matrix, or its flow
is listed here with the reason it is not.

The matrix (nova.tests.functional.compute.test_crash_matrix) generates
its cases from the flows' stage lists, class by class: a new stage of a
flow it walks is covered without touching it, but a new flow needs its
harness (how to start it, what its end state must be).  This test makes
that visible: a flow that is neither in the matrix nor below fails it.
The list is what the matrix does not cover yet, not what needs no
coverage.  API flows are not recorded (they run inside one request), so
there is nothing for a restart to finish or revert.
"""

from __future__ import annotations

import inspect

from nova import test
from nova.flow import FlowEngine
from nova.tests.functional.compute import test_crash_matrix

#: Flows the matrix does not walk yet, and why (none now).  A flow added
#: here must say why; remove it when its matrix class lands.
NOT_IN_THE_MATRIX: dict[str, str] = {}


def _covered() -> set[str]:
    stage_ids: set[str] = set()
    for cls in vars(test_crash_matrix).values():
        if (inspect.isclass(cls)
                and cls.__module__ == test_crash_matrix.__name__):
            for _name, params in getattr(cls, 'scenarios', ()):
                stage_ids.add(params['stage_id'])
    return stage_ids


class TestCrashMatrixCoverage(test.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.engine = FlowEngine.load()
        self.covered = _covered()

    def recorded_flows(self) -> list[str]:
        return sorted(flow for flow in self.engine.plans
                      if not flow.startswith('api.'))

    def test_every_stage_is_in_the_matrix_or_its_flow_is_listed(self):
        problems = []
        for flow in self.recorded_flows():
            if flow in NOT_IN_THE_MATRIX:
                continue
            missing = sorted(set(self.engine.plan(flow).leaves)
                             - self.covered)
            if missing:
                problems.append(f'{flow}: {", ".join(missing)}')
        self.assertEqual([], problems,
                         'stages in no crash-matrix case (add the flow to '
                         'test_crash_matrix, or to NOT_IN_THE_MATRIX with '
                         'the reason)')

    def test_the_list_names_only_flows_still_missing(self):
        stale = [flow for flow in NOT_IN_THE_MATRIX
                 if flow not in self.engine.plans
                 or set(self.engine.plan(flow).leaves) <= self.covered]
        self.assertEqual([], stale, 'covered or gone: remove from '
                                    'NOT_IN_THE_MATRIX')
