"""RequestContext: who asked, in which project, under which request ID.

Built on oslo.context so that oslo.log prints the request ID and the
user/project on every line, and oslo.messaging carries it across RPC.
"""

from __future__ import annotations

from typing import Any

from oslo_context import context


class RequestContext(context.RequestContext):

    def __init__(self, user_id: str | None = None,
                 project_id: str | None = None, is_admin: bool | None = None,
                 roles: list[str] | None = None, read_deleted: str = 'no',
                 action_id: int | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault('user_id', user_id)
        kwargs.setdefault('project_id', project_id)
        roles = list(roles or [])
        if is_admin is None:
            is_admin = 'admin' in roles
        super().__init__(is_admin=is_admin, roles=roles, **kwargs)
        #: 'no', 'yes' or 'only': whether DB reads see soft-deleted rows.
        self.read_deleted = read_deleted
        #: The instance action the flow runs of this request record
        #: under, when the caller knows it (the steps of a move, which the
        #: conductor orchestrates: see nova.conductor.manager); None: the
        #: newest action of the instance with this request ID.
        self.action_id = action_id

    def to_dict(self) -> dict[str, Any]:
        values = super().to_dict()
        values.update(user_id=self.user_id, project_id=self.project_id,
                      read_deleted=self.read_deleted,
                      action_id=self.action_id)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any],
                  **kwargs: Any) -> RequestContext:
        """A context from :meth:`to_dict`'s values (``kwargs`` are
        accepted as oslo.context's signature has them, and ignored)."""
        return cls(user_id=values.get('user_id'),
                   project_id=values.get('project_id'),
                   is_admin=values.get('is_admin'),
                   roles=values.get('roles'),
                   # The user's token reaches the services nova calls
                   # for the user (image, volume, network REST APIs).
                   auth_token=values.get('auth_token'),
                   request_id=values.get('request_id'),
                   global_request_id=values.get('global_request_id'),
                   read_deleted=values.get('read_deleted', 'no'),
                   action_id=values.get('action_id'))

    def elevated(self) -> RequestContext:
        ctx = RequestContext.from_dict(self.to_dict())
        ctx.is_admin = True
        if 'admin' not in ctx.roles:
            ctx.roles.append('admin')
        return ctx


def get_admin_context() -> RequestContext:
    return RequestContext(user_id=None, project_id=None, is_admin=True,
                          roles=['admin'], overwrite=False)


def for_run(run: Any) -> RequestContext:
    """The context a recovered flow run continues under: the interrupted
    request's user, project, request ID and instance action (so the
    run's record, and those of the runs it calls on other hosts, stay
    linked to that action), with admin rights."""
    return RequestContext(user_id=run.user_id, project_id=run.project_id,
                          request_id=run.request_id, is_admin=True,
                          action_id=getattr(run, 'action_id', None),
                          overwrite=False)
