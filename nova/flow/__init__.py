"""The flow engine: named stage lists with stevedore hook points.

Public surface, for flow modules and vendor hooks alike::

    from nova.flow import Flow, sub, stage, mark, REVERT, RESUME
    from nova.flow import hooks
"""

from nova.flow import contract, hooks
from nova.flow.engine import FlowEngine
from nova.flow.errors import FlowConfigError, FlowError, Problem, UnknownFlow
from nova.flow.events import EventKind, FlowEvent
from nova.flow.records import Failure, InMemoryRecorder, NullRecorder
from nova.flow.spec import (
    RESUME,
    REVERT,
    Flow,
    Stage,
    SubFlow,
    mark,
    stage,
    sub,
)

__all__ = [
    'EventKind', 'Failure', 'Flow', 'FlowConfigError', 'FlowEngine',
    'FlowError', 'FlowEvent', 'InMemoryRecorder', 'NullRecorder', 'Problem',
    'RESUME', 'REVERT', 'Stage', 'SubFlow', 'UnknownFlow', 'contract',
    'hooks', 'mark', 'stage', 'sub',
]
