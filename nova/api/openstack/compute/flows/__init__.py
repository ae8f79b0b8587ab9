"""The API flows and how vendor hooks extend the API through them.

The extension points of upstream's v2.1 API (server create, update,
rebuild, resize and the server view) are the flows ``api.server_create``,
``api.server_update``, ``api.server_rebuild``, ``api.server_resize`` and
``api.server_view``.  Hooks act on them like on any flow (before, after,
around, replace, listen; enabled in ``[flow] enabled_hooks``), and may
declare two more things on their Hook class:

``schema_fragments = {'api.server_create': {'properties': {NAME: SCHEMA}}}``
    Request fields the hook reads, merged into the flow's request object
    (``server`` for create/update, ``rebuild``, ``resize``).  Fields nobody
    declared are still rejected with 400.  A fragment may not redefine a
    field of the API or of another hook, and must be a valid JSON schema.

``microversions = {'api.server_view': '2.96'}``
    The lowest microversion at which the hook acts on that flow: its
    stages and ``around`` wrappers run, and its schema fragment applies,
    only for requests at or above it.  Required for ``api.server_view``,
    so a hook can never change the shape of a response an existing client
    version relies on; replacing a view stage is not allowed at all.

The optional feature stages of ``api.server_create`` may be switched off
with ``[flow] disabled_stages``; their fields then leave the schema (400).

All of this is checked when the API starts, with the engine's own checks,
and reported together as one FlowConfigError.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import jsonschema

import nova.conf
from nova.api.openstack import api_version_request as avr
from nova.api.openstack.compute.flows import (
    server_create,
    server_rebuild,
    server_resize,
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

API_FLOWS: tuple[Flow, ...] = (
    server_create.FLOW,
    server_update.FLOW,
    server_rebuild.FLOW,
    server_resize.FLOW,
    server_view.FLOW,
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
        return self.engine.run(name, ctx, state)

    def schema(self, flow_name: str,
               version: avr.APIVersionRequest) -> dict[str, Any]:
        """The request schema of ``flow_name`` at ``version``, hook
        fragments included."""
        key = (flow_name, str(version))
        cached = self._schemas.get(key)
        if cached is not None:
            return cached
        builder, object_key = REQUEST_SCHEMAS[flow_name]
        disabled = frozenset(
            leaf.name for leaf in self.engine.plan(flow_name).leaves.values()
            if leaf.disabled)
        result = builder(version, disabled) if disabled else \
            builder(version)
        target = result['properties'][object_key]['properties']
        for fragment in self.fragments.get(flow_name, ()):
            if version >= fragment.min_version:
                target.update(copy.deepcopy(dict(fragment.properties)))
        with self._lock:
            self._schemas[key] = result
        return result


def check_hooks(hooks: Sequence[LoadedHook]) -> list[Problem]:
    """The API's rules for hooks, for every service's validation
    (:func:`nova.flow.engine.validate`): schema fragments,
    microversions, view hooks.  Also gates each hook's methods in API
    flows by the microversion it declared (once per hook object)."""
    problems: list[Problem] = []
    _fragments(hooks, problems)
    versions = _hook_versions(hooks, problems)
    _check_view_hooks(hooks, versions, problems)
    for hook in hooks:
        _gate_by_version(hook, versions)
    return problems


def _hook_versions(hooks: Sequence[LoadedHook], problems: list[Problem],
                   ) -> dict[tuple[str, str], avr.APIVersionRequest]:
    """(hook name, flow ID) -> the microversion the hook acts from."""
    found: dict[tuple[str, str], avr.APIVersionRequest] = {}
    highest = avr.APIVersionRequest(avr.MAX_VERSION)
    for hook in hooks:
        declared = getattr(hook.obj, 'microversions', None) or {}
        if not isinstance(declared, Mapping):
            problems.append(Problem(
                'microversions must map flow IDs to microversions',
                hook=hook.name, entry_point=hook.entry_point))
            continue
        for flow_name, text in declared.items():
            if flow_name not in REQUEST_SCHEMAS and flow_name != VIEW_FLOW:
                problems.append(Problem(
                    f"declares a microversion for '{flow_name}', which is "
                    f"not an API flow", hook=hook.name,
                    entry_point=hook.entry_point))
                continue
            try:
                version = avr.APIVersionRequest(str(text))
            except Exception:
                problems.append(Problem(
                    f"declares microversion '{text}' for '{flow_name}'; "
                    f"expected MAJOR.MINOR", hook=hook.name,
                    entry_point=hook.entry_point))
                continue
            if not avr.min_api_version() <= version <= highest:
                problems.append(Problem(
                    f"declares microversion {version} for '{flow_name}', "
                    f"outside {avr.MIN_VERSION}-{avr.MAX_VERSION}",
                    hook=hook.name, entry_point=hook.entry_point))
                continue
            found[(hook.name, flow_name)] = version
    return found


def _fragments(hooks: Sequence[LoadedHook], problems: list[Problem],
               ) -> dict[str, list[Fragment]]:
    result: dict[str, list[Fragment]] = {}
    owners: dict[tuple[str, str], str] = {}
    highest = avr.APIVersionRequest(avr.MAX_VERSION)
    for hook in hooks:
        declared = getattr(hook.obj, 'schema_fragments', None) or {}
        versions = getattr(hook.obj, 'microversions', None) or {}
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
            if not ok:
                continue
            try:
                min_version = avr.APIVersionRequest(
                    str(versions.get(flow_name, avr.MIN_VERSION)))
            except Exception:
                continue  # reported by _hook_versions
            result.setdefault(flow_name, []).append(Fragment(
                hook.name, min_version,
                copy.deepcopy(dict(fragment['properties']))))
    return result


def _check_view_hooks(hooks: Sequence[LoadedHook],
                      versions: Mapping[tuple[str, str], Any],
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
            elif (hook.name, VIEW_FLOW) not in versions:
                problems.append(Problem(
                    "acts on api.server_view but declares no "
                    "microversions['api.server_view']: view fields must "
                    "start at a declared microversion",
                    hook=hook.name, entry_point=hook.entry_point,
                    stage_id=point.target))


def _api_flow_of(target: str) -> str | None:
    for name in (*REQUEST_SCHEMAS, VIEW_FLOW):
        if target.startswith(name + '.'):
            return name
    return None


def _gate_by_version(hook: LoadedHook,
                     versions: Mapping[tuple[str, str], Any]) -> None:
    """Make the hook's stages and wrappers in API flows run only from the
    microversion it declared for each flow.

    The gated function is set on the hook instance under the method's
    name, which is what the engine binds when it compiles (the marks it
    reads stay on the class).
    """
    for contribution in hook.contributions():
        point = contribution.point
        if point.kind is Kind.LISTEN:
            continue
        flow_name = _api_flow_of(point.target)
        version = versions.get((hook.name, flow_name)) if flow_name \
            else None
        if version is None or getattr(contribution.fn, _GATED, False):
            continue
        gated: Callable[..., Any]
        if point.kind is Kind.AROUND:
            gated = _gated_around(contribution.fn, version)
        else:
            gated = _gated_stage(contribution.fn, version)
        setattr(gated, _GATED, True)
        setattr(hook.obj, contribution.method, gated)


#: Set on a gated method: validating the same hook object again (one
#: per process in nova-all) does not gate it twice.
_GATED = '_nova_api_gated'
def _gated_stage(fn: Callable[[Any, Any], Any],
                 version: avr.APIVersionRequest,
                 ) -> Callable[[Any, Any], Any]:
    def gated(ctx: Any, state: Any) -> Any:
        if state.version >= version:
            return fn(ctx, state)
        return None
    gated.__doc__ = fn.__doc__
    return gated


def _gated_around(fn: Callable[[Any, Any, Any], Any],
                  version: avr.APIVersionRequest,
                  ) -> Callable[[Any, Any, Any], Any]:
    def gated(ctx: Any, state: Any, proceed: Callable[[], Any]) -> Any:
        if state.version >= version:
            return fn(ctx, state, proceed)
        return proceed()
    return gated


__all__ = ['API_FLOWS', 'ApiFlows', 'Fragment']
