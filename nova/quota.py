"""Quotas: the limits of a project (and of its users) and their usage.

The semantics are upstream nova's database driver with counted usage
("counting quotas", no reservations):

* a resource's limit for a project is the project's row in ``quotas``
  if there is one, else the ``[quota]`` default; a user's limit is the
  user's row in ``project_user_quotas``, else the project's limit;
* usage is counted from the resources themselves when a request is
  checked (live instances and the vCPUs/RAM of their flavors, the key
  pairs of a user ...), so there is nothing to reserve, commit or
  roll back and nothing to drift; ``reserved`` is always 0;
* ``-1`` is unlimited.

Resources are kept in a small registry, :data:`RESOURCES`.  Each is
either *counted* (its usage is counted per project and per user by a
counter function: instances, cores, ram, key_pairs, server_groups) or a
*per-object limit* (checked against the size of one object:
metadata_items of one server, server_group_members of one group).
A resource whose table lives elsewhere gets its counter with
:func:`register_counter` - e.g. ``server_groups``, counted once the
server groups table exists; until then it reads as 0 in use.

:class:`QuotaEngine` is what the API and the conductor ask; ``[quota]
driver`` picks the database driver or the no-op one (everything
unlimited).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import nova.conf
from nova import exception

CONF = nova.conf.CONF

UNLIMITED = -1
#: What a server uses, checked when servers are created.
INSTANCE_RESOURCES = ('instances', 'cores', 'ram')

#: counter(db, ctx, project_id, user_id) -> {resource: (project usage,
#: user usage)} for the resources it counts (``db``: the DB API module,
#: or what stands in for it).
Counter = Callable[[Any, Any, str, 'str | None'],
                   Mapping[str, tuple[int, int]]]


@dataclasses.dataclass
class Resource:
    """A quota resource: its ``[quota]`` option and how it is counted."""

    name: str
    #: 'counted' (usage counted per project/user) or 'per_object'.
    kind: str = 'counted'
    #: Usage counter; None: nothing counts it (yet), usage reads 0.
    counter: Counter | None = None
    #: Shown (and settable) only before this microversion, or always.
    max_version: str | None = None
    #: Whether the limit is enforced anywhere.
    enforced: bool = True
    #: The default when no ``[quota]`` option holds it (the network
    #: quotas shown before 2.36).
    fixed_default: int | None = None


def _count_instances(db: Any, ctx: Any, project_id: str,
                     user_id: str | None) -> dict[str, tuple[int, int]]:
    project = db.instance_usage_by_project(ctx, project_id)
    user = (db.instance_usage_by_project(ctx, project_id, user_id)
            if user_id else project)
    return {name: (project[name], user[name])
            for name in ('instances', 'cores', 'ram')}


def _count_key_pairs(db: Any, ctx: Any, project_id: str,
                     user_id: str | None) -> dict[str, tuple[int, int]]:
    """Key pairs belong to users: both figures are the user's."""
    count = db.key_pair_count_by_user(ctx, user_id) if user_id else 0
    return {'key_pairs': (count, count)}


RESOURCES: dict[str, Resource] = {r.name: r for r in (
    Resource('instances', counter=_count_instances),
    Resource('cores', counter=_count_instances),
    Resource('ram', counter=_count_instances),
    Resource('key_pairs', counter=_count_key_pairs),
    Resource('metadata_items', kind='per_object'),
    Resource('server_groups'),
    Resource('server_group_members', kind='per_object'),
    Resource('injected_files', kind='per_object', max_version='2.56',
             enforced=False),
    Resource('injected_file_content_bytes', kind='per_object',
             max_version='2.56', enforced=False),
    Resource('injected_file_path_bytes', kind='per_object',
             max_version='2.56', enforced=False),
    # nova-network's quotas, shown (and stored) before 2.36 only; the
    # network service owns these resources, nothing here enforces them.
    Resource('floating_ips', max_version='2.35', enforced=False,
             fixed_default=10),
    Resource('fixed_ips', max_version='2.35', enforced=False,
             fixed_default=-1),
    Resource('security_groups', max_version='2.35', enforced=False,
             fixed_default=10),
    Resource('security_group_rules', kind='per_object', max_version='2.35',
             enforced=False, fixed_default=20),
)}

# The option of injected_file_path_bytes is upstream's
# injected_file_path_length.
_OPTION = {'injected_file_path_bytes': 'injected_file_path_length'}


def _default(resource: Resource) -> int:
    if resource.fixed_default is not None:
        return resource.fixed_default
    return int(getattr(CONF.quota, _OPTION.get(resource.name,
                                               resource.name)))


def register_counter(names: tuple[str, ...] | list[str],
                     counter: Counter) -> None:
    """Plug in the usage counter of resources counted elsewhere (e.g.
    ``server_groups`` by the server groups API)."""
    for name in names:
        RESOURCES[name].counter = counter


def resources_at(version: Any = None) -> list[str]:
    """The resource names the API shows at ``version`` (all if None)."""
    names = []
    for resource in RESOURCES.values():
        if version is not None and resource.max_version is not None and \
                not version.matches(max_version=resource.max_version):
            continue
        names.append(resource.name)
    return names


# -- drivers ------------------------------------------------------------------


class DbQuotaDriver:
    """Limits from the quotas tables over the ``[quota]`` defaults."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def get_defaults(self, ctx: Any) -> dict[str, int]:
        return {name: _default(r) for name, r in RESOURCES.items()}

    def get_project_limits(self, ctx: Any, project_id: str,
                           ) -> dict[str, int]:
        limits = self.get_defaults(ctx)
        limits.update({k: v for k, v in self.db.quota_get_all_by_project(
            ctx, project_id).items() if k in limits})
        return limits

    def get_user_limits(self, ctx: Any, project_id: str,
                        user_id: str) -> dict[str, int]:
        return self.get_limits(ctx, project_id, user_id)[1]

    def get_limits(self, ctx: Any, project_id: str, user_id: str,
                   ) -> tuple[dict[str, int], dict[str, int]]:
        """The project's limits and the user's (the project's with the
        user's own over them), the project's read once."""
        project = self.get_project_limits(ctx, project_id)
        user = dict(project)
        user.update({k: v for k, v in
                     self.db.quota_get_all_by_project_and_user(
                         ctx, project_id, user_id).items()
                     if k in user})
        return project, user


class NoopQuotaDriver(DbQuotaDriver):
    """Every limit unlimited."""

    def get_defaults(self, ctx: Any) -> dict[str, int]:
        return {name: UNLIMITED for name in RESOURCES}

    def get_limits(self, ctx: Any, project_id: str, user_id: str,
                   ) -> tuple[dict[str, int], dict[str, int]]:
        return self.get_defaults(ctx), self.get_defaults(ctx)

    def get_project_limits(self, ctx: Any, project_id: str,
                           ) -> dict[str, int]:
        return self.get_defaults(ctx)

    def get_user_limits(self, ctx: Any, project_id: str,
                        user_id: str) -> dict[str, int]:
        return self.get_defaults(ctx)


_DRIVERS = {'nova.quota.DbQuotaDriver': DbQuotaDriver,
            'nova.quota.NoopQuotaDriver': NoopQuotaDriver}


# -- the engine ---------------------------------------------------------------


class QuotaEngine:
    """What the API and the conductor ask: limits, usage, checks, on
    ``db`` (the DB API module by default)."""

    def __init__(self, db: Any = None) -> None:
        if db is None:
            from nova.db import api as db
        self.db = db
        # The limits read inside the outermost reading() block of this
        # thread (green thread under eventlet): an engine may be shared
        # by a controller's concurrent requests.
        self._block = threading.local()

    @property
    def driver(self) -> DbQuotaDriver:
        return _DRIVERS[CONF.quota.driver](self.db)

    def get_defaults(self, ctx: Any) -> dict[str, int]:
        return self.driver.get_defaults(ctx)

    @contextlib.contextmanager
    def reading(self, ctx: Any) -> Iterator[None]:
        """One database transaction for every read of the checks made
        inside the block (limits and usage), instead of one per read: a
        boot's quota checks cost one round of transaction set-up (the
        pool's check-out and liveness ping, the commit) instead of
        nine.  Each project's and user's limits are read once in the
        block, however many checks ask for them (a boot's instances and
        metadata checks).  A ``db`` without transactions (a test's
        stand-in) reads as before."""
        outermost = getattr(self._block, 'limits', None) is None
        if outermost:
            self._block.limits = {}
        reader = getattr(self.db, 'reader', None)
        try:
            with reader(ctx) if reader else contextlib.nullcontext():
                yield
        finally:
            if outermost:
                self._block.limits = None

    def limits(self, ctx: Any, project_id: str, user_id: str,
               ) -> tuple[dict[str, int], dict[str, int]]:
        """The project's limits and the user's: read from the database,
        or inside a :meth:`reading` block, as first read there."""
        cache = getattr(self._block, 'limits', None)
        key = (project_id, user_id)
        if cache is not None and key in cache:
            return cache[key]
        limits = self.driver.get_limits(ctx, project_id, user_id)
        if cache is not None:
            cache[key] = limits
        return limits

    def unlimited(self, ctx: Any, names: Iterable[str],
                  project_id: str | None = None,
                  user_id: str | None = None) -> bool:
        """True when every resource of ``names`` is unlimited for the
        project and for the user."""
        project, user = self.limits(ctx, project_id or ctx.project_id,
                                    user_id or ctx.user_id)
        return all(project[n] < 0 and user[n] < 0 for n in names)

    def count(self, ctx: Any, project_id: str, user_id: str | None,
              names: list[str] | None = None,
              ) -> dict[str, tuple[int, int]]:
        """{resource: (project usage, user usage)} of counted resources
        (0 for those nothing counts yet)."""
        usage: dict[str, tuple[int, int]] = {}
        wanted = [n for n in (names or list(RESOURCES))
                  if RESOURCES[n].kind == 'counted']
        done: set[Any] = set()
        for name in wanted:
            counter = RESOURCES[name].counter
            if counter is None:
                usage[name] = (0, 0)
            elif counter not in done:
                done.add(counter)
                usage.update(counter(self.db, ctx, project_id, user_id))
        return {n: usage.get(n, (0, 0)) for n in wanted}

    def get_project_quotas(self, ctx: Any, project_id: str,
                           usages: bool = False) -> dict[str, Any]:
        limits = self.driver.get_project_limits(ctx, project_id)
        if not usages:
            return limits
        counted = self.count(ctx, project_id, None)
        return {name: {'limit': limit,
                       'in_use': counted.get(name, (0, 0))[0],
                       'reserved': 0} for name, limit in limits.items()}

    def get_user_quotas(self, ctx: Any, project_id: str, user_id: str,
                        usages: bool = False) -> dict[str, Any]:
        limits = self.driver.get_user_limits(ctx, project_id, user_id)
        if not usages:
            return limits
        counted = self.count(ctx, project_id, user_id)
        return {name: {'limit': limit,
                       'in_use': counted.get(name, (0, 0))[1],
                       'reserved': 0} for name, limit in limits.items()}

    def limit_check(self, ctx: Any, project_id: str | None = None,
                    user_id: str | None = None, **values: int) -> None:
        """Per-object limits: each value against its limit.

        :raises OverQuota: with ``overs``, ``quotas``, ``usages``.
        """
        project_id = project_id or ctx.project_id
        user_id = user_id or ctx.user_id
        with self.reading(ctx):
            limits = self.limits(ctx, project_id, user_id)[1]
        overs = sorted(name for name, value in values.items()
                       if 0 <= limits[name] < value)
        if overs:
            raise exception.OverQuota(
                overs=overs, quotas={n: limits[n] for n in values},
                usages={n: values[n] for n in values})

    def check_deltas(self, ctx: Any, deltas: Mapping[str, int],
                     project_id: str | None = None,
                     user_id: str | None = None) -> None:
        """Counted resources: usage + delta against the project's and
        the user's limits.  A delta of 0 checks that usage alone fits
        (the recheck after the records are written).

        :raises OverQuota: with ``overs``, ``quotas`` (the tighter of
            the two limits), ``usages`` and ``headroom``.
        """
        project_id = project_id or ctx.project_id
        user_id = user_id or ctx.user_id
        with self.reading(ctx):
            if self.unlimited(ctx, deltas, project_id, user_id):
                return
            project_limits, user_limits = self.limits(ctx, project_id,
                                                      user_id)
            usage = self.count(ctx, project_id, user_id, list(deltas))
        overs, quotas, usages, headroom = [], {}, {}, {}
        for name, delta in deltas.items():
            project_used, user_used = usage[name]
            room = []
            for limit, used in ((project_limits[name], project_used),
                                (user_limits[name], user_used)):
                if limit >= 0:
                    room.append((limit - used, limit, used))
            if not room:
                continue
            left, limit, used = min(room)
            quotas[name], usages[name], headroom[name] = limit, used, left
            if delta > left:
                overs.append(name)
        if overs:
            raise exception.OverQuota(overs=sorted(overs), quotas=quotas,
                                      usages=usages, headroom=headroom)

    # -- what the compute API checks --------------------------------------

    def check_num_instances(self, ctx: Any, flavor: Mapping[str, Any],
                            min_count: int, max_count: int,
                            project_id: str | None = None,
                            user_id: str | None = None) -> int:
        """How many of ``max_count`` servers of ``flavor`` fit the quotas.

        As upstream: when not all fit but at least ``min_count`` do, the
        request is reduced to what fits; otherwise TooManyInstances (403)
        says which resources are over, what was requested, used and
        allowed.  ``max_count`` is first capped by ``[quota]
        max_instances_per_request`` (a request of more than that is refused
        when its min_count is over it).
        """
        cap = CONF.quota.max_instances_per_request
        if min_count > cap:
            raise exception.TooManyInstances(
                overs='instances', req=min_count, used=0, allowed=cap)
        max_count = min(max_count, cap)
        vcpus = int(flavor.get('vcpus') or 0)
        ram = int(flavor.get('memory_mb') or 0)
        deltas = {'instances': max_count, 'cores': max_count * vcpus,
                  'ram': max_count * ram}
        try:
            self.check_deltas(ctx, deltas, project_id, user_id)
            return max_count
        except exception.OverQuota as error:
            headroom = error.kwargs['headroom']
            quotas = error.kwargs['quotas']
            usages = error.kwargs['usages']
            overs = error.kwargs['overs']
        allowed = headroom.get('instances', max_count)
        if vcpus and 'cores' in headroom:
            allowed = min(allowed, headroom['cores'] // vcpus)
        if ram and 'ram' in headroom:
            allowed = min(allowed, headroom['ram'] // ram)
        if 0 < allowed and min_count <= allowed:
            return self.check_num_instances(ctx, flavor, min_count, allowed,
                                       project_id, user_id)
        count = (str(min_count) if min_count == max_count
                 else f'{min_count}-{max_count}')
        requested = {'instances': count,
                     'cores': self._span(min_count, max_count, vcpus),
                     'ram': self._span(min_count, max_count, ram)}
        raise exception.TooManyInstances(
            overs=', '.join(overs),
            req=', '.join(str(requested[n]) for n in overs),
            used=', '.join(str(usages[n]) for n in overs),
            allowed=', '.join(str(quotas[n]) for n in overs))


    @staticmethod
    def _span(min_count: int, max_count: int, size: int) -> str:
        if min_count == max_count:
            return str(min_count * size)
        return f'{min_count * size}-{max_count * size}'


    def check_resize(self, ctx: Any, instance: Mapping[str, Any],
                     new_flavor: Mapping[str, Any]) -> None:
        """A resize up needs room for the vCPU and RAM it adds, as upstream
        checks at the API (against the instance's project and user).

        :raises TooManyInstances: 403, naming cores and/or ram.
        """
        deltas = {
            'cores': int(new_flavor.get('vcpus') or 0) -
            int(instance.get('vcpus') or 0),
            'ram': int(new_flavor.get('memory_mb') or 0) -
            int(instance.get('memory_mb') or 0)}
        deltas = {k: v for k, v in deltas.items() if v > 0}
        if not deltas:
            return
        try:
            self.check_deltas(ctx, deltas, instance.get('project_id'),
                                instance.get('user_id'))
        except exception.OverQuota as error:
            overs = error.kwargs['overs']
            raise exception.TooManyInstances(
                overs=', '.join(overs),
                req=', '.join(str(deltas[n]) for n in overs),
                used=', '.join(str(error.kwargs['usages'][n]) for n in overs),
                allowed=', '.join(str(error.kwargs['quotas'][n])
                                  for n in overs)) from None


    def check_metadata(self, ctx: Any, metadata: Mapping[str, Any] | None,
                       project_id: str | None = None,
                       user_id: str | None = None) -> None:
        """The metadata_items limit of one server.

        :raises MetadataLimitExceeded: 403.
        """
        try:
            self.limit_check(ctx, project_id, user_id,
                               metadata_items=len(metadata or {}))
        except exception.OverQuota as error:
            raise exception.MetadataLimitExceeded(
                allowed=error.kwargs['quotas']['metadata_items']) from None


    def check_key_pairs(self, ctx: Any, user_id: str,
                        project_id: str | None = None) -> None:
        """Room for one more key pair of ``user_id``.

        :raises KeypairLimitExceeded: 403.
        """
        try:
            self.check_deltas(ctx, {'key_pairs': 1}, project_id, user_id)
        except exception.OverQuota:
            raise exception.KeypairLimitExceeded() from None
