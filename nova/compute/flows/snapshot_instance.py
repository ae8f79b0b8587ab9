"""compute.snapshot_instance: copy the guest's root disk into an image
(``createImage``).

The API created the image record (``saving``, private to the project,
with the instance's image properties, ``instance_uuid``, ``image_type:
snapshot`` and the user's metadata) and took the instance (task_state
``image_snapshot``); the flow lets the driver capture and upload the disk
- the task state moves through ``image_pending_upload`` and
``image_uploading`` as it goes - and clears the task.  The vm_state never
changes: a snapshot is taken of an ACTIVE, SHUTOFF, PAUSED or SUSPENDED
server and leaves it so.

Failure: the image is deleted unless its upload had completed (a complete
image is a good snapshot and is kept), the fault is recorded and the task
state cleared.  The user sees the server as before, with the fault, and
no half-uploaded image in the image list.

Interrupted: reverted at restart, like a failure.  Resuming would take
the snapshot again, long after the user asked for it, of a disk that has
changed since: the user takes a new one instead.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from oslo_log import log as logging

from nova import exception
from nova.compute import task_states
from nova.compute.flows import base
from nova.flow import REVERT, Flow, stage
from nova.image import api as image_api

LOG = logging.getLogger(__name__)

# Image states of an upload that did not finish.
_UNFINISHED = (image_api.QUEUED, image_api.SAVING, image_api.KILLED)


@dataclasses.dataclass
class SnapshotState(base.InstanceState):
    """Contract 1.0: the instance action state plus the image ID."""

    #: The image the API created for the snapshot, uploaded to by the driver.
    image_id: str | None = None


def _load_state(ctx: Any, run: Any,
                compute: base.ComputeServices) -> SnapshotState:
    """The instance, and its snapshot image that never finished (if the
    upload completed, there is nothing to delete)."""
    instance = compute.db.instance_get_by_uuid(ctx, run.subject)
    unfinished = [
        image for image in compute.image.get_all(
            ctx, filters={'status': list(_UNFINISHED)})
        if image['properties'].get('instance_uuid') == instance['uuid']
        and image['properties'].get('image_type') == 'snapshot']
    unfinished.sort(key=lambda image: str(image.get('created_at')))
    return SnapshotState(
        compute=compute, instance=instance,
        image_id=unfinished[-1]['id'] if unfinished else None)


FLOW = Flow('compute.snapshot_instance', '1.0', SnapshotState,
            on_interrupt=REVERT, subject=base.instance_subject,
            load_state=_load_state,
            doc='Snapshot an instance into an image.')
FLOW.stages(
    stage('update_snapshot_pending', base.set_state(
        'update_snapshot_pending',
        task_state=task_states.IMAGE_SNAPSHOT_PENDING,
        expected_task_state=task_states.IMAGE_SNAPSHOT)),
    stage('notify_usage_start', base.notifier('snapshot.start'),
          optional=True),
    'driver_snapshot',
    stage('update_snapshot_done', base.set_state(
        'update_snapshot_done', task_state=None,
        expected_task_state=task_states.IMAGE_UPLOADING)),
    stage('notify_usage_end', base.notifier('snapshot.end'),
          optional=True),
)
FLOW.on_failure(base.record_fault, 'delete_unfinished_image',
                base.clear_task_state)


@FLOW.stage
def driver_snapshot(ctx: Any, state: SnapshotState) -> None:
    """Capture the root disk and upload it into the image."""
    def update_task_state(task_state: str, expected_state: Any =
                          task_states.IMAGE_SNAPSHOT_PENDING) -> None:
        base.instance_update(ctx, state, task_state=task_state,
                             expected_task_state=expected_state)
    state.compute.driver.snapshot(ctx, state.instance, state.image_id,
                                  update_task_state)


@FLOW.failure_handler
def delete_unfinished_image(ctx: Any, state: SnapshotState,
                            failure: Any) -> None:
    """Delete the image unless its upload completed."""
    if not state.image_id:
        return
    try:
        image = state.compute.image.get(ctx, state.image_id)
        if image['status'] in _UNFINISHED:
            state.compute.image.delete(ctx, state.image_id)
    except exception.ImageNotFound:
        return
