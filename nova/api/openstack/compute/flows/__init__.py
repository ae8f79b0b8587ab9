"""The API flows and how vendor hooks extend the API through them.

The extension points of upstream's v2.1 API (server create, update,
rebuild, resize and the server view) are the flows ``api.server_create``,
``api.server_update``, ``api.server_rebuild``, ``api.server_resize`` and
``api.server_view``; upstream's extensions are flows of their own: the
security group actions ``api.server_add_security_group`` and
``api.server_remove_security_group``, os-server-diagnostics
``api.server_diagnostics``, os-server-password
``api.server_show_password`` and ``api.server_clear_password``,
os-remote-consoles (and os-getVNCConsole) ``api.server_remote_console``
and os-server-external-events ``api.server_external_events``.  Hooks act
on them like on any flow (before, after, around, replace, listen;
enabled in ``[flow] enabled_hooks``), and may declare two more things on
their Hook class:

``schema_fragments = {'api.server_create': {'properties': {NAME: SCHEMA}}}``
    Request fields the hook reads, merged into the flow's request object
    (``server`` for create/update, ``rebuild``, ``resize``).  Fields nobody
    declared are still rejected with 400.  A fragment may not redefine a
    field of the API or of another hook, and must be a valid JSON schema.

``view_fields = {'api.server_view': {NAME: SCHEMA}}``
    The response fields the hook adds to the server view.  A view hook
    function that adds a key it did not declare here, or removes one,
    fails its stage (:class:`server_view.ViewFieldError`, naming hook,
    stage ID and key): the response never changes shape silently.

``GET /v2.1/flow-extensions`` lists what the enabled hooks add, so a
client can discover it (:meth:`ApiFlows.extensions`): per hook the flows
it extends, its request and response fields with their JSON schemas, and
the microversion each applies from.

Every vendor field NAME, request or response, is namespaced:
``prefix:field`` (letters, digits, ``_ . -``) with a prefix of the
vendor's own (``os-``/``OS-``/``os:`` are upstream's); anything else is a
load problem.

``@hooks.after('api.server_view.basic', min_version='2.96')``
    The lowest microversion at which the contribution acts: a condition
    declared on the contribution and checked by the engine per run (below
    it a ``before``/``after`` stage is skipped with its revert, an
    ``around`` just proceeds, a ``replace`` leaves the stage's own
    function).  The API flows declare the state field holding the
    request's microversion (``Flow(request_version=...)``, see
    :mod:`nova.api.openstack.compute.flows.base`); the engine checks each
    ``min_version`` at load (MAJOR.MINOR, within the microversions
    served).  Nothing is set on the hook's objects.

``microversions = {'api.server_view': '2.96'}``
    The default ``min_version`` of every contribution of the hook to
    that flow (a decorator's ``min_version`` takes precedence), and the
    microversion from which its schema fragment applies.  Every
    contribution to ``api.server_view`` needs one or the other, so a hook
    can never change the shape of a response an existing client version
    relies on; replacing a view stage is not allowed at all.

The optional feature stages of ``api.server_create`` may be switched off
with ``[flow] disabled_stages``.  That disables a behaviour, never a part
of the standard API: their request fields stay in the schema (a client
valid on one cloud is valid on every cloud), the feature is just not
applied, and each request that sent one of its fields is logged at INFO
naming the field and the stage (see
:mod:`nova.api.openstack.compute.flows.server_create` for what each
disabled stage means).

All of this is checked when the API starts, with the engine's own checks,
and reported together as one FlowConfigError.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import jsonschema

import nova.conf
from nova.api.openstack import api_version_request as avr
from nova.api.openstack.compute.flows import (
    server_add_security_group,
    server_clear_password,
    server_create,
    server_diagnostics,
    server_external_events,
    server_rebuild,
    server_remote_console,
    server_remove_security_group,
    server_resize,
    server_show_password,
    server_update,
    server_view,
)
from nova.api.validation import validators
from nova.flow import FlowEngine, NullRecorder
from nova.flow import engine as engine_mod
from nova.flow import hooks as hooks_mod
from nova.flow.errors import FlowConfigError, Problem
from nova.flow.hooks import Kind, LoadedHook
from nova.flow.spec import Flow

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

#: A vendor field name: ``prefix:field``.
NAMESPACED = re.compile(
    r'^[A-Za-z0-9][A-Za-z0-9_.-]*:[A-Za-z0-9_][A-Za-z0-9_.-]*$')
#: Namespaces of upstream's own fields (OS-EXT-SRV-ATTR:, os:...).
RESERVED_PREFIX = re.compile(r'^os[-:]', re.IGNORECASE)

API_FLOWS: tuple[Flow, ...] = (
    server_create.FLOW,
    server_update.FLOW,
    server_rebuild.FLOW,
    server_resize.FLOW,
    server_view.FLOW,
    server_add_security_group.FLOW,
    server_remove_security_group.FLOW,
    server_diagnostics.FLOW,
    server_show_password.FLOW,
    server_clear_password.FLOW,
    server_remote_console.FLOW,
    server_external_events.FLOW,
)

VIEW_FLOW = server_view.FLOW.name

# flow ID -> (schema builder by version, the request object's key).
REQUEST_SCHEMAS: Mapping[str, tuple[Callable[..., dict[str, Any]],
                                    str]] = {
    server_create.FLOW.name: (server_create.schema, 'server'),
    server_update.FLOW.name: (server_update.schema, 'server'),
    server_rebuild.FLOW.name: (server_rebuild.schema, 'rebuild'),
    server_resize.FLOW.name: (server_resize.schema, 'resize'),
}


@dataclasses.dataclass(frozen=True)
class Fragment:
    hook: str
    min_version: avr.APIVersionRequest
    properties: Mapping[str, Any]


class ApiFlows:
    """The compiled engine plus the API-side hook contributions."""

    def __init__(self, engine: FlowEngine,
                 fragments: Mapping[str, Sequence[Fragment]]) -> None:
        self.engine = engine
        self.fragments = {k: tuple(v) for k, v in fragments.items()}
        self._schemas: dict[tuple[str, str], dict[str, Any]] = {}
        self._disabled: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    # -- loading ----------------------------------------------------------

    @classmethod
    def load(cls, *, flows: Iterable[Flow] | None = None,
             hook_names: Iterable[str] = (),
             hook_objects: Sequence[Any] = (),
             disabled_stages: Iterable[str] = (),
             hooks: Sequence[LoadedHook] | None = None) -> ApiFlows:
        """Compile the API flows (and ``flows``) with the hooks.

        ``hooks`` are hooks already loaded (instead of ``hook_names``).
        Raises FlowConfigError listing every problem, the engine's and
        the API's (:func:`check_hooks`), together.
        """
        all_flows = list(flows or ())
        names = {flow.name for flow in all_flows}
        all_flows.extend(f for f in API_FLOWS if f.name not in names)
        problems: list[Problem] = []
        if hooks is not None:
            loaded = list(hooks)
        else:
            loaded, load_problems = hooks_mod.load_hooks(hook_names)
            problems.extend(load_problems)
        extra, extra_problems = hooks_mod.hooks_from_objects(hook_objects)
        problems.extend(extra_problems)
        for hook in extra:
            hook.order += len(loaded)
        loaded.extend(extra)
        plans, engine_problems = engine_mod.validate(all_flows, loaded,
                                                     disabled_stages)
        problems.extend(engine_problems)
        if problems:
            raise FlowConfigError(problems)
        return cls(FlowEngine(plans, loaded, NullRecorder()),
                   _fragments(loaded, []))

    @classmethod
    def from_conf(cls, conf: Any = CONF) -> ApiFlows:
        """The installed flows (``nova.flows``) with ``[flow]
        enabled_hooks``, validated as every service validates them
        (:func:`nova.flow.engine.check_conf`)."""
        found, problems = engine_mod.discover_flows()
        names = {flow.name for flow in found}
        found.extend(f for f in API_FLOWS if f.name not in names)
        checked = engine_mod.check_conf(conf, flows=found)
        problems.extend(checked.problems)
        if problems:
            raise FlowConfigError(problems)
        return cls(FlowEngine(checked.plans, checked.hooks, NullRecorder()),
                   _fragments(checked.hooks, []))

    # -- use ------------------------------------------------------------

    def run(self, name: str, ctx: Any, state: Any) -> Any:
        if name == server_create.FLOW.name:
            self._note_ignored(state)
        return self.engine.run(name, ctx, state)

    def _note_ignored(self, state: Any) -> None:
        """Log the fields of disabled feature stages a request sent."""
        disabled = self._disabled.get(server_create.FLOW.name)
        if disabled is None:
            plan = self.engine.plan(server_create.FLOW.name)
            disabled = tuple(leaf.name for leaf in plan.leaves.values()
                             if leaf.disabled)
            self._disabled[server_create.FLOW.name] = disabled
        if not disabled:
            return
        body = getattr(state, 'body', None) or {}
        for stage_name, sent in server_create.ignored_fields(
                disabled, state.version, body):
            LOG.info('Ignoring %s of the request: stage %s.%s is disabled '
                     'by [flow] disabled_stages', ', '.join(sent),
                     server_create.FLOW.name, stage_name)

    def schema(self, flow_name: str,
               version: avr.APIVersionRequest) -> dict[str, Any]:
        """The request schema of ``flow_name`` at ``version``, hook
        fragments included."""
        key = (flow_name, str(version))
        cached = self._schemas.get(key)
        if cached is not None:
            return cached
        builder, object_key = REQUEST_SCHEMAS[flow_name]
        # Disabled stages keep their fields: see the module docstring.
        result = builder(version)
        target = result['properties'][object_key]['properties']
        for fragment in self.fragments.get(flow_name, ()):
            if version >= fragment.min_version:
                target.update(copy.deepcopy(dict(fragment.properties)))
        with self._lock:
            self._schemas[key] = result
        return result

    def extensions(self) -> list[dict[str, Any]]:
        """What ``GET /flow-extensions`` lists: per enabled hook, the
        flows it extends with its namespaced request and response fields
        and the microversion each applies from (None: every one)."""
        result = []
        view_versions = _view_versions(self.engine.hooks)
        for hook in sorted(self.engine.hooks, key=lambda h: h.order):
            flows: dict[str, dict[str, Any]] = {}

            def entry(flow_name: str, hook: LoadedHook = hook,
                      flows: dict[str, dict[str, Any]] = flows,
                      ) -> dict[str, Any]:
                return flows.setdefault(flow_name, {
                    'flow': flow_name,
                    'contract': hook.supports.get(flow_name),
                    'min_version': None,
                    'request_fields': [],
                    'response_fields': []})

            for flow_name in hook.supports:
                entry(flow_name)
            for contribution in hook.contributions():
                point = contribution.point
                extended = point.target if point.kind is Kind.LISTEN \
                    else self._flow_of(point.target)
                if extended is None:
                    continue
                found = entry(extended)
                version = contribution.min_version(extended)
                if point.kind is not Kind.LISTEN and version is not None:
                    found['min_version'] = _lowest(found['min_version'],
                                                   version)
            for flow_name, fragments in self.fragments.items():
                for fragment in fragments:
                    if fragment.hook != hook.name:
                        continue
                    for name, field_schema in fragment.properties.items():
                        entry(flow_name)['request_fields'].append({
                            'name': name, 'schema': field_schema,
                            'min_version': _shown(fragment.min_version)})
            view = server_view.declared_view_fields(hook.obj)
            for name, field_schema in view.items():
                entry(VIEW_FLOW)['response_fields'].append({
                    'name': name, 'schema': field_schema,
                    'min_version': view_versions.get(hook.name)})
            result.append({'name': hook.name,
                           'flows': [flows[k] for k in sorted(flows)]})
        return copy.deepcopy(result)

    def _flow_of(self, target: str) -> str | None:
        best: str | None = None
        for name in self.engine.plans:
            if target.startswith(name + '.') and (
                    best is None or len(name) > len(best)):
                best = name
        return best


def check_hooks(hooks: Sequence[LoadedHook]) -> list[Problem]:
    """The API's rules for hooks, for every service's validation
    (:func:`nova.flow.engine.validate`): namespaced schema fragments and
    view fields, view hooks.  (Their microversions the engine checks,
    with every flow's request version.)  Nothing is set on the hooks."""
    problems: list[Problem] = []
    _fragments(hooks, problems)
    _check_view_fields(hooks, problems)
    _check_view_hooks(hooks, problems)
    return problems


def _min_version(hook: LoadedHook,
                 flow_name: str) -> avr.APIVersionRequest | None:
    """The hook's default microversion for a flow; None if it declares
    none or a wrong one (the engine reports that)."""
    text = hook.microversions.get(flow_name)
    if text is None:
        return avr.min_api_version()
    try:
        return avr.APIVersionRequest(str(text))
    except Exception:
        return None


def _shown(version: avr.APIVersionRequest) -> str | None:
    """A field's microversion as listed: None when it is every one."""
    return None if version == avr.MIN_VERSION else str(version)


def _lowest(current: str | None, version: str) -> str:
    if current is None:
        return version
    return min(current, version, key=avr.APIVersionRequest)


def _view_versions(hooks: Sequence[LoadedHook]) -> dict[str, str | None]:
    """Hook name -> the lowest microversion its view contributions run
    from, which is where its response fields start."""
    found: dict[str, str | None] = {}
    for hook in hooks:
        for contribution in hook.contributions():
            point = contribution.point
            if point.kind is Kind.LISTEN or \
                    not point.target.startswith(VIEW_FLOW + '.'):
                continue
            version = contribution.min_version(VIEW_FLOW)
            if version is not None:
                found[hook.name] = _lowest(found.get(hook.name), version)
    return found


def namespace_problem(field: str) -> str | None:
    """What is wrong with a vendor field's name, if anything."""
    if not isinstance(field, str) or not NAMESPACED.match(field):
        return (f"field '{field}' is not namespaced: vendor fields are "
                f"named 'prefix:field' (e.g. 'example:tier')")
    if RESERVED_PREFIX.match(field):
        return (f"field '{field}' uses an upstream namespace (os-, OS-, "
                f"os:); use a prefix of your own")
    return None


def _fragments(hooks: Sequence[LoadedHook], problems: list[Problem],
               ) -> dict[str, list[Fragment]]:
    result: dict[str, list[Fragment]] = {}
    owners: dict[tuple[str, str], str] = {}
    highest = avr.APIVersionRequest(avr.MAX_VERSION)
    for hook in hooks:
        declared = getattr(hook.obj, 'schema_fragments', None) or {}
        if not isinstance(declared, Mapping):
            problems.append(Problem(
                'schema_fragments must map flow IDs to fragments',
                hook=hook.name, entry_point=hook.entry_point))
            continue
        for flow_name, fragment in declared.items():
            def problem(message: str, flow_name: str = flow_name,
                        hook: LoadedHook = hook) -> None:
                problems.append(Problem(
                    message, hook=hook.name, entry_point=hook.entry_point,
                    stage_id=flow_name))
            if flow_name not in REQUEST_SCHEMAS:
                problem('schema fragment for a flow without a request '
                        'body; known: ' + ', '.join(sorted(
                            REQUEST_SCHEMAS)))
                continue
            if flow_name not in hook.supports:
                problem('has a schema fragment for a flow it does not '
                        "declare in 'supports'")
                continue
            if not isinstance(fragment, Mapping) or \
                    set(fragment) != {'properties'} or \
                    not isinstance(fragment['properties'], Mapping):
                problem("schema fragment must be {'properties': {NAME: "
                        "SCHEMA, ...}} and nothing else")
                continue
            builder, object_key = REQUEST_SCHEMAS[flow_name]
            core = builder(highest)['properties'][object_key]['properties']
            ok = True
            for field, field_schema in fragment['properties'].items():
                if field in core:
                    problem(f"schema fragment redefines API field "
                            f"'{field}'")
                    ok = False
                    continue
                wrong = namespace_problem(field)
                if wrong is not None:
                    problem(f'schema fragment {wrong}')
                    ok = False
                    continue
                owner = owners.get((flow_name, field))
                if owner is not None:
                    problem(f"schema fragment field '{field}' is also "
                            f"defined by hook '{owner}'")
                    ok = False
                    continue
                try:
                    validators.check_schema(field_schema)
                except jsonschema.SchemaError as exc:
                    problem(f"schema fragment field '{field}' is not a "
                            f"valid JSON schema: {exc.message}")
                    ok = False
                    continue
                owners[(flow_name, field)] = hook.name
            min_version = _min_version(hook, flow_name)
            if not ok or min_version is None:
                continue
            result.setdefault(flow_name, []).append(Fragment(
                hook.name, min_version,
                copy.deepcopy(dict(fragment['properties']))))
    return result


def _check_view_fields(hooks: Sequence[LoadedHook],
                       problems: list[Problem]) -> None:
    """``view_fields``: namespaced, valid schemas, one owner each."""
    owners: dict[str, str] = {}
    for hook in hooks:
        declared = getattr(hook.obj, 'view_fields', None) or {}

        def problem(message: str, hook: LoadedHook = hook) -> None:
            problems.append(Problem(message, hook=hook.name,
                                    entry_point=hook.entry_point,
                                    stage_id=VIEW_FLOW))

        if not isinstance(declared, Mapping) or not all(
                isinstance(v, Mapping) for v in declared.values()):
            problem("view_fields must be {'api.server_view': {NAME: "
                    "SCHEMA, ...}}")
            continue
        for flow_name in declared:
            if flow_name != VIEW_FLOW:
                problem(f"view_fields names '{flow_name}'; response "
                        f"fields are added in {VIEW_FLOW} only")
        fields = declared.get(VIEW_FLOW) or {}
        if fields and VIEW_FLOW not in hook.supports:
            problem("declares view_fields for a flow it does not declare "
                    "in 'supports'")
            continue
        for field, field_schema in fields.items():
            wrong = namespace_problem(field)
            if wrong is not None:
                problem(f'view_fields {wrong}')
                continue
            owner = owners.get(field)
            if owner is not None:
                problem(f"view field '{field}' is also added by hook "
                        f"'{owner}'")
                continue
            try:
                validators.check_schema(field_schema)
            except jsonschema.SchemaError as exc:
                problem(f"view field '{field}' is not a valid JSON "
                        f"schema: {exc.message}")
                continue
            owners[field] = hook.name


def _check_view_hooks(hooks: Sequence[LoadedHook],
                      problems: list[Problem]) -> None:
    for hook in hooks:
        for contribution in hook.contributions():
            point = contribution.point
            if point.kind is Kind.LISTEN or \
                    not point.target.startswith(VIEW_FLOW + '.'):
                continue
            if point.kind is Kind.REPLACE:
                problems.append(Problem(
                    'replaces a stage of api.server_view; view hooks may '
                    'only add fields (before/after/around)',
                    hook=hook.name, entry_point=hook.entry_point,
                    stage_id=point.target))
            elif contribution.min_version(VIEW_FLOW) is None:
                problems.append(Problem(
                    f"acts on api.server_view but declares no "
                    f"microversions['api.server_view'], nor a min_version "
                    f"on {contribution.method}: view fields must start at "
                    f"a declared microversion",
                    hook=hook.name, entry_point=hook.entry_point,
                    stage_id=point.target))


__all__ = ['API_FLOWS', 'ApiFlows', 'Fragment', 'check_hooks',
           'namespace_problem']
