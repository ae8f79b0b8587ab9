"""Vendor hooks: what a hook may do, and loading hooks with stevedore.

A hook is a class registered as an entry point in the ``nova.flow.hooks``
namespace of an installed package and enabled by name in
``[flow] enabled_hooks``.  It says which flows it was written for and marks
the methods that act at stages::

    class SpecialSauce(hooks.Hook):
        supports = {'compute.build_instance': '1.0'}

        @hooks.before('compute.build_instance.spawn.driver_spawn',
                      revert='remove_sauce')
        def add_sauce(self, ctx, state): ...

        def remove_sauce(self, ctx, state, failure): ...

        @hooks.around('compute.build_instance.allocate_network')
        def timed(self, ctx, state, proceed):
            return proceed()

        @hooks.listen('compute.build_instance', 'run_failure')
        def page_someone(self, event): ...

A contribution to a flow whose runs carry a request version (the API
flows: the request's microversion) may apply from a version on,
``@hooks.after('api.server_view.basic', min_version='2.47')``, with the
class attribute ``microversions = {flow: '2.47'}`` as the default for the
hook's contributions to that flow (the decorator's value wins).  The
engine checks the condition at load and on every run
(:mod:`nova.flow.plan`); nothing is set on the hook's objects.

Nothing here runs a hook: this module only turns entry points into
:class:`LoadedHook` objects and their marked methods into
:class:`Contribution` records for the compiler to validate.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypeAlias, TypeVar, overload

from stevedore import named

from nova.flow.errors import Problem
from nova.flow.spec import StageRef

NAMESPACE = 'nova.flow.hooks'
_MARK = '_nova_flow_points'

#: A hook method: the decorators return it unchanged, with its own type, so
#: that a vendor's type checker checks it against the flow's state type
#: (as pluggy's ``HookimplMarker`` does).
F = TypeVar('F', bound=Callable[..., Any])


class RunRefused(Exception):
    """Raise from a hook's stage to fail the run with your own message.

    The run fails like for any other exception (completed stages are
    reverted, the failure handlers run) with two differences users see:
    the flow does not try again elsewhere (a build is not rescheduled: it
    ends in ERROR) and the instance fault, which ``openstack server show``
    prints, carries ``user_message`` as it is, so write it for the user
    and put nothing secret in it.  ``code`` is the fault's HTTP-like code
    (400 by default: the request was refused, nothing broke).  In an API
    flow (``api.*``) the request is answered with ``code`` and
    ``user_message``::

        from nova.flow import hooks

        @hooks.before('compute.build_instance.claim_resources')
        def check_licence(self, ctx, state):
            if not self.licensed(state.instance):
                raise hooks.RunRefused('No licence left for this image.')
    """

    def __init__(self, user_message: str, *, code: int = 400) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.code = code

    def format_message(self) -> str:
        """The user-facing message (what an instance fault shows)."""
        return self.user_message


#: Another name for :class:`RunRefused`.
HookRefusal = RunRefused


class Kind(enum.StrEnum):
    BEFORE = 'before'
    AFTER = 'after'
    AROUND = 'around'
    REPLACE = 'replace'
    LISTEN = 'listen'


class Hook:
    """Base class for vendor hooks.

    :cvar supports: flow ID -> contract version ``MAJOR.MINOR`` the hook was
        written against.  It works with that major and any later minor.
    :cvar priority: orders this hook's own contributions at one stage (higher
        first); between hooks, ``[flow] enabled_hooks`` order decides.
    """

    supports: ClassVar[Mapping[str, str]] = {}
    priority: ClassVar[int] = 0
    #: flow ID -> the lowest request version (API microversion) from which
    #: the hook's contributions to that flow apply: the default
    #: ``min_version`` of each of them; a ``min_version`` given to a
    #: decorator takes precedence over it.  Only for flows whose state
    #: carries a request version (:class:`nova.flow.spec.RequestVersion`).
    microversions: ClassVar[Mapping[str, str]] = {}
    #: oslo.config options of the hook, registered in the group
    #: ``[hook:<entry point name>]`` (see :func:`group_name`) when the hook
    #: is enabled, and listed in the generated sample configuration.
    options: ClassVar[Sequence[Any]] = ()
    #: Set at load to the entry point name.
    name: str = ''
    #: Set at load, before the first stage runs (not yet in ``__init__``):
    #: the hook's option group, e.g. ``self.conf.endpoint``.
    conf: Any = None


def group_name(hook_name: str) -> str:
    """The oslo.config group of a hook's options: ``hook:<name>``."""
    return f'hook:{hook_name}'


def register_options(loaded: Sequence[LoadedHook],
                     conf: Any) -> list[Problem]:
    """Register each loaded hook's ``options`` in its group of ``conf``
    and hand the group to the hook (``hook.conf``)."""
    from oslo_config import cfg
    problems: list[Problem] = []
    for hook in loaded:
        options = list(getattr(hook.obj, 'options', ()) or ())
        group = group_name(hook.name)
        bad = [o for o in options if not isinstance(o, cfg.Opt)]
        if bad:
            problems.append(Problem(
                f'options must be oslo.config Opt objects, not {bad[0]!r}',
                hook=hook.name, entry_point=hook.entry_point))
            continue
        try:
            conf.register_group(cfg.OptGroup(group))
            conf.register_opts(options, group=group)
        except cfg.Error as exc:
            problems.append(Problem(
                f'cannot register its options in [{group}]: {exc}',
                hook=hook.name, entry_point=hook.entry_point))
            continue
        # A value the option's type refuses (e.g. not one of its
        # choices) is reported now, naming the option, not when the
        # first stage reads it.
        for option in options:
            try:
                getattr(conf[group], option.dest)
            except ValueError as exc:
                problems.append(Problem(
                    f'[{group}] {option.name}: {exc}',
                    hook=hook.name, entry_point=hook.entry_point))
        hook.obj.conf = conf[group]
    return problems


def list_opts() -> list[tuple[str, list[Any]]]:
    """For oslo-config-generator (``oslo.config.opts`` entry point
    ``nova.flow.hooks``): the options of every installed hook, each in its
    ``[hook:<entry point name>]`` group.  Hooks that cannot be imported
    are left out."""
    import importlib.metadata
    found: dict[str, list[Any]] = {}
    for entry_point in importlib.metadata.entry_points(group=NAMESPACE):
        if entry_point.name in found:
            continue
        try:
            plugin = entry_point.load()
        except Exception:
            continue
        options = list(getattr(plugin, 'options', ()) or ()) if (
            inspect.isclass(plugin) or isinstance(plugin, Hook)) else []
        if options:
            found[entry_point.name] = options
    return [(group_name(name), options)
            for name, options in sorted(found.items())]


@dataclasses.dataclass(frozen=True)
class Point:
    """What a decorator recorded on a hook method."""

    kind: Kind
    target: str
    name: str | None = None
    revert: str | None = None
    events: frozenset[str] = frozenset()
    priority: int = 0
    #: The lowest request version the contribution applies from (None:
    #: the hook's ``microversions`` default for the flow, if any).
    min_version: str | None = None


#: What a typed decorator (given a StageRef[S]) keeps: the hook's class,
#: its result, and the flow's state type its ``state`` must accept.
H = TypeVar('H')
R = TypeVar('R')
S = TypeVar('S')
#: A hook method ``(self, ctx, state)`` of a stage of a Flow[S].
StageMethod: TypeAlias = Callable[[H, Any, S], R]
#: An ``around`` hook method ``(self, ctx, state, proceed)``.
AroundMethod: TypeAlias = Callable[[H, Any, S, Callable[[], Any]], R]
#: What the decorators return for a typed stage reference.
TypedStage: TypeAlias = Callable[[StageMethod[H, S, R]], StageMethod[H, S, R]]
TypedAround: TypeAlias = Callable[[AroundMethod[H, S, R]],
                                  AroundMethod[H, S, R]]


def _mark(point: Point) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        points = list(getattr(fn, _MARK, ()))
        points.append(point)
        setattr(fn, _MARK, tuple(points))
        return fn
    return decorate


@overload
def before(stage_id: StageRef[S], *, name: str | None = None,  # type: ignore[overload-overlap]
           revert: str | None = None, priority: int = 0,
           min_version: str | None = None,
           ) -> TypedStage[H, S, R]: ...


@overload
def before(stage_id: str, *, name: str | None = None,
           revert: str | None = None, priority: int = 0,
           min_version: str | None = None,
           ) -> Callable[[F], F]: ...


def before(stage_id: str, *, name: str | None = None,
           revert: str | None = None, priority: int = 0,
           min_version: str | None = None) -> Any:
    """Insert the method ``(ctx, state)`` as a stage before ``stage_id``.

    ``name`` is the new stage's name (default: the method name); ``revert``
    names a method ``(ctx, state, failure)`` of the same hook.
    ``min_version`` (every decorator but ``listen`` takes it): the stage
    runs only for requests at or above that version (API microversion
    ``'2.47'``); below it the engine skips it (and its revert).  Only in
    flows whose state carries a request version; checked at load.
    """
    return _mark(Point(Kind.BEFORE, stage_id, name, revert, priority=priority,
                       min_version=min_version))


@overload
def after(stage_id: StageRef[S], *, name: str | None = None,  # type: ignore[overload-overlap]
          revert: str | None = None, priority: int = 0,
          min_version: str | None = None,
          ) -> TypedStage[H, S, R]: ...


@overload
def after(stage_id: str, *, name: str | None = None,
          revert: str | None = None, priority: int = 0,
          min_version: str | None = None,
          ) -> Callable[[F], F]: ...


def after(stage_id: str, *, name: str | None = None,
          revert: str | None = None, priority: int = 0,
          min_version: str | None = None) -> Any:
    """Insert the method ``(ctx, state)`` as a stage after ``stage_id``
    (``min_version``: as for :func:`before`)."""
    return _mark(Point(Kind.AFTER, stage_id, name, revert, priority=priority,
                       min_version=min_version))


@overload
def around(stage_id: StageRef[S], *, priority: int = 0,  # type: ignore[overload-overlap]
           min_version: str | None = None,
           ) -> TypedAround[H, S, R]: ...


@overload
def around(stage_id: str, *, priority: int = 0,
           min_version: str | None = None) -> Callable[[F], F]: ...


def around(stage_id: str, *, priority: int = 0,
           min_version: str | None = None) -> Any:
    """Wrap ``stage_id`` (a stage or sub-flow) with ``(ctx, state, proceed)``.

    Below ``min_version`` (as for :func:`before`) the wrapped stage just
    runs, as if the wrapper called ``proceed()`` once.

    ``proceed()`` runs what is wrapped and returns its result; the method may
    call it more than once (retry), not at all (skip) or time it.  A failed
    sub-flow has reverted its started stages before the exception reaches
    the wrapper, so calling ``proceed()`` again retries it from a clean
    slate (``compute.build_instance.spawn`` is tested doing so).
    """
    return _mark(Point(Kind.AROUND, stage_id, priority=priority,
                       min_version=min_version))


@overload
def replace(stage_id: StageRef[S], *, revert: str | None = None,  # type: ignore[overload-overlap]
            min_version: str | None = None,
            ) -> TypedStage[H, S, R]: ...


@overload
def replace(stage_id: str, *, revert: str | None = None,
            min_version: str | None = None,
            ) -> Callable[[F], F]: ...


def replace(stage_id: str, *, revert: str | None = None,
            min_version: str | None = None) -> Any:
    """Run the method ``(ctx, state)`` instead of the stage's own function.

    Only one enabled hook may replace a given stage.  ``revert`` names the
    replacement's revert; without it the stage's own revert is kept.
    Below ``min_version`` (as for :func:`before`) the stage's own function
    and revert run.
    """
    return _mark(Point(Kind.REPLACE, stage_id, revert=revert,
                       min_version=min_version))


def listen(flow_name: str, *events: str) -> Callable[[F], F]:
    """Call the method ``(event)`` on the named run events of a flow.

    With no events named, every event is delivered.  Listeners observe: an
    exception they raise is logged and does not change the run.
    """
    return _mark(Point(Kind.LISTEN, flow_name, events=frozenset(events)))


@dataclasses.dataclass
class LoadedHook:
    """An enabled hook, instantiated, with where it came from."""

    name: str
    obj: Hook
    entry_point: str | None
    order: int

    @property
    def priority(self) -> int:
        return int(getattr(self.obj, 'priority', 0) or 0)

    @property
    def supports(self) -> Mapping[str, str]:
        return dict(getattr(self.obj, 'supports', {}) or {})

    @property
    def microversions(self) -> Mapping[str, str]:
        """The hook's ``microversions`` (empty when it is not a mapping:
        the load reports that)."""
        declared = getattr(self.obj, 'microversions', None) or {}
        return dict(declared) if isinstance(declared, Mapping) else {}

    def contributions(self) -> list[Contribution]:
        found: list[Contribution] = []
        for attr in sorted(dir(type(self.obj))):
            member = getattr(type(self.obj), attr, None)
            points = getattr(member, _MARK, None)
            if not points:
                continue
            bound = getattr(self.obj, attr)
            for point in points:
                revert = None
                if point.revert:
                    revert = getattr(self.obj, point.revert, None)
                found.append(Contribution(self, point, bound, attr, revert))
        return found


@dataclasses.dataclass(frozen=True)
class Gate:
    """A contribution's version condition, resolved at load: it applies
    to a run whose ``getattr(state, field) >= threshold``."""

    #: The state field holding the request's version.
    field: str
    #: As declared (``'2.47'``).
    min_version: str
    #: ``min_version`` parsed by the flow
    #: (:class:`~nova.flow.spec.RequestVersion`).
    threshold: Any

    def applies(self, state: Any) -> bool:
        return bool(getattr(state, self.field) >= self.threshold)


@dataclasses.dataclass(frozen=True)
class Contribution:
    """One marked method of one loaded hook."""

    hook: LoadedHook
    point: Point
    fn: Callable[..., Any]
    method: str
    revert: Callable[..., Any] | None
    #: Set by the compiler when the contribution applies from a request
    #: version on (:meth:`min_version`); the engine checks it per run.
    gate: Gate | None = None

    @property
    def stage_name(self) -> str:
        return self.point.name or self.method

    def min_version(self, flow_name: str) -> str | None:
        """The lowest request version the contribution applies from in
        ``flow_name``: the decorator's ``min_version``, else the hook's
        ``microversions[flow_name]``, else None (always)."""
        if self.point.min_version is not None:
            return self.point.min_version
        default = self.hook.microversions.get(flow_name)
        return None if default is None else str(default)

    def sort_key(self) -> tuple[int, int, str]:
        """Config order first, then the declared priority (higher first)."""
        prio = self.point.priority or self.hook.priority
        return (self.hook.order, -prio, self.method)


def hooks_from_objects(objects: Sequence[Hook | type[Hook]],
                       ) -> tuple[list[LoadedHook], list[Problem]]:
    """Load hooks given directly (tests, embedding) rather than by name."""
    loaded: list[LoadedHook] = []
    problems: list[Problem] = []
    for order, obj in enumerate(objects):
        name = getattr(obj, 'name', '') or _default_name(obj)
        hook = _instantiate(name, obj, None, order, problems)
        if hook is not None:
            loaded.append(hook)
    return loaded, problems


def load_hooks(names: Iterable[str], namespace: str = NAMESPACE,
               ) -> tuple[list[LoadedHook], list[Problem]]:
    """Load the hooks named in ``[flow] enabled_hooks`` with stevedore.

    Every failure (a name no installed package provides, an import error, an
    entry point that is not a Hook) becomes a :class:`Problem`; nothing is
    raised here so that the caller can report all of them at once.
    """
    names = list(names)
    problems: list[Problem] = []
    if not names:
        return [], problems
    seen: set[str] = set()
    duplicates: list[str] = []
    for name in names:
        if name in seen:
            duplicates.append(name)
        seen.add(name)

    failed_imports: set[str] = set()

    def on_load_failure(manager: Any, entry_point: Any,
                        exc: BaseException) -> None:
        failed_imports.add(entry_point.name)
        problems.append(Problem(
            f'cannot be imported: {type(exc).__name__}: {exc}',
            hook=entry_point.name, entry_point=entry_point.value))

    def on_missing(missing: Iterable[str]) -> None:
        # stevedore counts a hook whose import failed as missing too; it
        # was reported above with the reason.
        for name in sorted(set(missing) - failed_imports):
            problems.append(Problem(
                f'is enabled in [flow] enabled_hooks but no installed '
                f'package provides it in entry point namespace '
                f'{namespace!r}', hook=name))

    manager = named.NamedExtensionManager(
        namespace, names=list(dict.fromkeys(names)), name_order=True,
        invoke_on_load=False,
        on_load_failure_callback=on_load_failure,
        on_missing_entrypoints_callback=on_missing)
    if duplicates:
        # Reported first, as the configuration mistake it is, naming the
        # entry point so that the operator sees which package is meant.
        provided = {ep.name: ep.value for ep in manager.list_entry_points()}
        problems[:0] = [Problem('is listed twice in [flow] enabled_hooks',
                                hook=name, entry_point=provided.get(name))
                        for name in duplicates]
    order: dict[str, int] = {}
    for index, name in enumerate(names):
        order.setdefault(name, index)
    loaded: list[LoadedHook] = []
    for extension in manager.extensions:
        hook = _instantiate(extension.name, extension.plugin,
                            extension.entry_point.value,
                            order[extension.name], problems)
        if hook is not None:
            loaded.append(hook)
    return loaded, problems


def _default_name(obj: object) -> str:
    cls = obj if inspect.isclass(obj) else type(obj)
    return f'{cls.__module__}.{cls.__qualname__}'


def _instantiate(name: str, plugin: Any, entry_point: str | None, order: int,
                 problems: list[Problem]) -> LoadedHook | None:
    if inspect.isclass(plugin) and issubclass(plugin, Hook):
        try:
            obj = plugin()
        except Exception as exc:
            problems.append(Problem(
                f'could not be created: {type(exc).__name__}: {exc}',
                hook=name, entry_point=entry_point))
            return None
    elif isinstance(plugin, Hook):
        obj = plugin
    else:
        problems.append(Problem(
            f'refers to {plugin!r}, which is not a nova.flow.hooks.Hook '
            f'subclass or instance', hook=name, entry_point=entry_point))
        return None
    obj.name = name
    return LoadedHook(name, obj, entry_point, order)
