"""Run events delivered to hook listeners."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from nova.flow.records import Failure


class EventKind(enum.StrEnum):
    RUN_START = 'run_start'
    STAGE_START = 'stage_start'
    STAGE_END = 'stage_end'
    STAGE_REVERT = 'stage_revert'
    RUN_SUCCESS = 'run_success'
    RUN_FAILURE = 'run_failure'


EVENT_NAMES = frozenset(kind.value for kind in EventKind)


@dataclasses.dataclass(slots=True)
class FlowEvent:
    """What happened, to which run and stage.

    Listeners observe: they must change neither the event (one object is
    handed to every listener of that event) nor ``state``, the live state
    object (hooks that change behaviour use before, after, around or
    replace).  The event is not frozen because a frozen dataclass costs
    over a microsecond more to build, per event, on the stage loop.
    """

    kind: EventKind
    flow: str
    run_id: str
    ctx: Any
    state: Any
    stage_id: str | None = None
    result: str | None = None
    elapsed: float | None = None
    failure: Failure | None = None
