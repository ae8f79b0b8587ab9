"""A flow run in a child process that kills itself mid-stage.

``python -m nova.tests.functional.db.crashing_flow URL INSTANCE REQUEST``
runs ``test.crashing`` for INSTANCE with the database recorder on the
database at URL; its third stage sends the process SIGKILL, so nothing
after it - no exception handling, no flush, no atexit - runs.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from typing import Any

from nova.flow import Flow

CRASH_STAGE = 'c'


@dataclasses.dataclass
class CrashState:
    uuid: str
    reverted: list[str] = dataclasses.field(default_factory=list)


def crashing_flow() -> Flow:
    flow = Flow('test.crashing', '1.0', CrashState,
                subject=lambda state: state.uuid)
    flow.stages('a', 'b', 'c', 'd')

    def make(name: str) -> None:
        def execute(ctx: Any, state: CrashState) -> None:
            if name == CRASH_STAGE and os.environ.get('NOVA_CRASH_NOW'):
                os.kill(os.getpid(), signal.SIGKILL)

        def revert(ctx: Any, state: CrashState, failure: Any) -> None:
            state.reverted.append(name)
        flow.stage(execute, name=name)
        flow.revert(name)(revert)

    for name in 'abcd':
        make(name)
    return flow


def main(argv: list[str]) -> int:
    url, instance_uuid, request_id = argv
    import nova.conf
    from nova import context
    from nova.db import recorder
    from nova.flow import FlowEngine

    nova.conf.CONF.set_override('connection', url, group='database')
    engine = FlowEngine.load(flows=[crashing_flow()],
                             recorder=recorder.DBRecorder(),
                             host='crash-host')
    ctx = context.RequestContext('user', 'project', request_id=request_id)
    os.environ['NOVA_CRASH_NOW'] = '1'
    engine.run('test.crashing', ctx, CrashState(instance_uuid))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
