"""The public contract of a flow, its snapshot, and what a change requires.

A flow's contract is what a vendor's hook may rely on:

* its version ``MAJOR.MINOR`` and changelog (``Flow(changes=...)``);
* its stage IDs in order, sub-flow stages included, with their former
  names (aliases) - the places a hook can act at;
* its state type: each field's type, meaning and whether a hook may
  assign it;
* when stages are reverted (the interrupt policy, the point of no return).

State fields are documented where they are declared, in the dataclass::

    @dataclasses.dataclass
    class BuildState:
        compute: ComputeServices = dataclasses.field(
            metadata=contract.meta('The services the stages call.',
                                   writable=False))
        #: The instance being built (a dict of its DB row).
        instance: dict[str, Any] = dataclasses.field(
            metadata=contract.READ_ONLY)
        #: Set by reschedule_or_error when the build went elsewhere.
        rescheduled: bool = False

A field's doc is the ``doc`` of its metadata or else the ``#:`` comment
right above it (the attribute-comment convention Sphinx reads); a field is
writable unless its metadata says ``writable=False``.  A hook that assigns a
read-only field, or changes the content of one holding a dict, list or set,
fails its stage with :class:`ReadOnlyFieldError` naming the hook, the stage
and the field (the field gets its value back).

The contract of every registered flow is committed as a JSON snapshot
(:func:`snapshot_path`); :func:`compare` says what differs between a
snapshot and the code and which version bump that requires: a new field or
stage is a minor bump; a field or stage removed, renamed (without an alias),
retyped or made read-only, a stage moved (order or sub-flow: when it runs),
or a change of when stages revert is a major bump.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import itertools
import json
import operator
import os
import textwrap
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from nova.flow import spec
from nova.flow.errors import FlowError

#: Metadata keys (namespaced, other libraries may use field metadata too).
DOC_KEY: Final = 'nova.flow.doc'
WRITABLE_KEY: Final = 'nova.flow.writable'

#: The changelog entry every flow's first contract has.
FIRST_ENTRY: Final = 'First published contract.'

MAJOR: Final = 'major'
MINOR: Final = 'minor'

#: Where the snapshots of a flow family live, by the first part of the flow
#: name (relative to the top of the tree).
SNAPSHOT_DIRS: Final = {
    'compute': os.path.join('nova', 'compute', 'flows', 'contracts'),
    'conductor': os.path.join('nova', 'conductor', 'flows', 'contracts'),
    'api': os.path.join('nova', 'api', 'openstack', 'compute', 'flows',
                        'contracts'),
}
TREE: Final = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def meta(doc: str | None = None, *, writable: bool = True,
         ) -> dict[str, Any]:
    """Field metadata declaring a state field's meaning and whether a hook
    may assign it: ``dataclasses.field(metadata=meta('...'))``."""
    found: dict[str, Any] = {WRITABLE_KEY: writable}
    if doc is not None:
        found[DOC_KEY] = doc
    return found


#: Metadata of a read-only field documented by its ``#:`` comment.
READ_ONLY: Final = types.MappingProxyType(meta(writable=False))


class ReadOnlyFieldError(FlowError, AttributeError):
    """A hook assigned a state field the flow's contract keeps read-only."""

    def __init__(self, hook: str, stage_id: str, state_type: type,
                 field: str, in_place: bool = False) -> None:
        self.hook = hook
        self.stage_id = stage_id
        self.field = field
        #: True when the hook changed the field's value (a dict, list or
        #: set) in place rather than assigning the field.
        self.in_place = in_place
        how = 'changed the content of' if in_place else 'assigned'
        super().__init__(
            f"hook '{hook}' at stage '{stage_id}' {how} field '{field}' "
            f"of {state_type.__name__}, which the flow's contract keeps "
            f"read-only for hooks")


# -- describing a flow -----------------------------------------------------

@dataclasses.dataclass(frozen=True)
class FieldInfo:
    name: str
    type: str
    doc: str
    writable: bool


@dataclasses.dataclass(frozen=True)
class StageInfo:
    id: str
    #: 'stage' or 'sub_flow'.
    kind: str
    optional: bool
    #: Former IDs hooks may still target.
    aliases: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Contract:
    flow: str
    version: str
    state: str
    fields: tuple[FieldInfo, ...]
    stages: tuple[StageInfo, ...]
    on_interrupt: str
    point_of_no_return: str | None
    changes: Mapping[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {
            'flow': self.flow,
            'version': self.version,
            'state': self.state,
            'on_interrupt': self.on_interrupt,
            'point_of_no_return': self.point_of_no_return,
            'fields': [dataclasses.asdict(f) for f in self.fields],
            'stages': [{'id': s.id, 'kind': s.kind, 'optional': s.optional,
                        'aliases': list(s.aliases)} for s in self.stages],
            'changes': dict(sorted(self.changes.items(),
                                   key=lambda kv: _version_key(kv[0]))),
        }


def contract_of(flow: spec.Flow[Any]) -> Contract:
    """The contract of a flow as its code declares it."""
    tree, _ = flow.resolve()
    stages: list[StageInfo] = []

    def visit(entries: Sequence[str | spec.Stage | spec.SubFlow],
              prefix: str) -> None:
        for entry in entries:
            if isinstance(entry, str):
                continue  # not resolved: reported by flow.resolve()
            stage_id = f'{prefix}.{entry.name}'
            kind = 'sub_flow' if isinstance(entry, spec.SubFlow) else 'stage'
            stages.append(StageInfo(
                stage_id, kind, entry.optional,
                tuple(f'{prefix}.{a}' for a in entry.aliases)))
            if isinstance(entry, spec.SubFlow):
                visit(entry.entries, stage_id)
    visit(tree, flow.name)
    changes = {'1.0': FIRST_ENTRY}
    changes.update(flow.changes)
    state = flow.state_type
    return Contract(
        flow=flow.name, version=flow.version,
        state=f'{state.__module__}.{state.__qualname__}',
        fields=tuple(state_fields(state)), stages=tuple(stages),
        on_interrupt=flow.on_interrupt,
        point_of_no_return=flow.point_of_no_return, changes=changes)


def state_fields(state_type: type) -> list[FieldInfo]:
    """Each field of a state dataclass with its type, doc and writability."""
    if not dataclasses.is_dataclass(state_type):
        return []
    try:
        hints = typing.get_type_hints(state_type)
    except Exception:  # an annotation only a type checker can resolve
        hints = {}
    comments = _field_comments(state_type)
    found = []
    for field in dataclasses.fields(state_type):
        doc = field.metadata.get(DOC_KEY) or comments.get(field.name, '')
        hint = hints.get(field.name, field.type)
        found.append(FieldInfo(
            field.name, type_name(hint), ' '.join(str(doc).split()),
            bool(field.metadata.get(WRITABLE_KEY, True))))
    return found


@functools.cache
def read_only_fields(state_type: type) -> frozenset[str]:
    """The fields of a state type hooks may read but not assign."""
    return frozenset(f.name for f in state_fields(state_type)
                     if not f.writable)


def _field_comments(state_type: type) -> dict[str, str]:
    """Field name -> the ``#:`` comment above its declaration, from the
    class that declares it (a subclass's comment wins)."""
    comments: dict[str, str] = {}
    for cls in reversed(state_type.__mro__):
        if cls is object or not dataclasses.is_dataclass(cls):
            continue
        comments.update(_class_comments(cls))
    return comments


@functools.cache
def _class_comments(cls: type) -> dict[str, str]:
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    found: dict[str, str] = {}
    classdef = ast.parse(source).body[0]
    if not isinstance(classdef, ast.ClassDef):
        return found
    for node in classdef.body:
        if not (isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)):
            continue
        text: list[str] = []
        index = node.lineno - 2
        while index >= 0 and lines[index].strip().startswith('#:'):
            text.insert(0, lines[index].strip()[2:].strip())
            index -= 1
        if text:
            found[node.target.id] = ' '.join(text)
    return found


def type_name(hint: Any) -> str:
    """A stable spelling of a type: ``dict[str, Any]``, ``str | None``."""
    if isinstance(hint, str):
        return hint
    if hint is type(None) or hint is None:
        return 'None'
    if hint is Any:
        return 'Any'
    if hint is Ellipsis:
        return '...'
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return ' | '.join(type_name(a) for a in args)
    if isinstance(hint, list | tuple):  # Callable's argument list
        return '[' + ', '.join(type_name(a) for a in hint) + ']'
    if origin is not None:
        inner = ', '.join(type_name(a) for a in args)
        return f'{type_name(origin)}[{inner}]' if args else \
            type_name(origin)
    if isinstance(hint, type):
        if hint.__module__ == 'builtins':
            return hint.__qualname__
        if hint.__module__ == 'collections.abc':
            return f'collections.abc.{hint.__qualname__}'
        return f'{hint.__module__}.{hint.__qualname__}'
    return repr(hint)


# -- presenting it ---------------------------------------------------------

def as_json(contract: Contract) -> str:
    return json.dumps(contract.as_dict(), indent=2) + '\n'


def as_text(contract: Contract) -> str:
    out = [f'{contract.flow} {contract.version}  (state '
           f'{contract.state}; on interrupt: {contract.on_interrupt}'
           + (f'; point of no return: {contract.point_of_no_return}'
              if contract.point_of_no_return else '') + ')',
           '', 'Stages (in order):']
    for stage in contract.stages:
        depth = stage.id.count('.') - contract.flow.count('.') - 1
        flags = [stage.kind.replace('_', '-')] if stage.kind != 'stage' \
            else []
        if stage.optional:
            flags.append('optional')
        if stage.aliases:
            flags.append('formerly ' + ', '.join(stage.aliases))
        extra = f'  [{"; ".join(flags)}]' if flags else ''
        out.append(f'  {"  " * depth}{stage.id}{extra}')
    out += ['', 'State fields (rw: a hook may assign it, ro: read only):']
    for field in contract.fields:
        mode = 'rw' if field.writable else 'ro'
        out.append(f'  {field.name}: {field.type}  [{mode}]')
        if field.doc:
            out.append(f'      {field.doc}')
    out += ['', 'Changes:']
    for version, text in contract.as_dict()['changes'].items():
        out.append(f'  {version}: {text}')
    return '\n'.join(out) + '\n'


# -- snapshots -------------------------------------------------------------

def snapshot_path(flow_name: str, tree: str = TREE) -> str | None:
    """Where the committed snapshot of a flow lives; None for flows of no
    known family (tests' flows)."""
    family, _, rest = flow_name.partition('.')
    where = SNAPSHOT_DIRS.get(family)
    if where is None or not rest:
        return None
    return os.path.join(tree, where, f'{rest}.json')


def load_snapshot(path: str) -> dict[str, Any] | None:
    if not os.path.exists(path):
        return None
    with open(path, encoding='utf-8') as stream:
        loaded: dict[str, Any] = json.load(stream)
    return loaded


def write_snapshot(path: str, contract: Contract) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as stream:
        stream.write(as_json(contract))


# -- comparing -------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Change:
    #: MAJOR, MINOR or None (documentation only).
    bump: str | None
    text: str

    def __str__(self) -> str:
        return f'[{self.bump or "no bump"}] {self.text}'


@dataclasses.dataclass
class Verdict:
    """What differs between a snapshot and the code, and what it needs."""

    flow: str
    old_version: str
    new_version: str
    changes: list[Change]
    #: MAJOR, MINOR or None.
    required: str | None
    #: The version the code should declare, given the snapshot.
    expected_version: str
    #: What is wrong with the code's version and changelog.
    problems: list[str]

    @property
    def identical(self) -> bool:
        return not self.changes and self.old_version == self.new_version

    def report(self) -> str:
        lines = [f'flow {self.flow}: contract {self.old_version} '
                 f'(snapshot) -> {self.new_version} (code)']
        lines += [f'  {c}' for c in self.changes]
        if self.required:
            lines.append(f'  requires a {self.required} version bump: '
                         f'{self.old_version} -> {self.expected_version}')
        lines += [f'  PROBLEM: {p}' for p in self.problems]
        return '\n'.join(lines)


def _version_key(text: str) -> tuple[int, int]:
    return spec.parse_version(text) or (0, 0)


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> Verdict:
    """Compare two contracts (``Contract.as_dict()`` form, e.g. the
    snapshot and the code) and say which version bump the change needs."""
    changes: list[Change] = []
    _compare_fields(old, new, changes)
    _compare_stages(old, new, changes)
    for key, what in (('on_interrupt', 'the interrupt policy'),
                      ('point_of_no_return', 'the point of no return')):
        if old.get(key) != new.get(key):
            changes.append(Change(MAJOR, (
                f'{what} changed from {old.get(key)!r} to {new.get(key)!r} '
                f'(which stages a failure or crash reverts)')))
    if old.get('state') != new.get('state'):
        changes.append(Change(None, (
            f"state type renamed from {old.get('state')} to "
            f"{new.get('state')}")))
    required = MAJOR if any(c.bump == MAJOR for c in changes) else \
        MINOR if any(c.bump == MINOR for c in changes) else None
    old_v = str(old.get('version'))
    new_v = str(new.get('version'))
    old_t = _version_key(old_v)
    new_t = _version_key(new_v)
    if required == MAJOR:
        expected = f'{old_t[0] + 1}.0'
    elif required == MINOR:
        expected = f'{old_t[0]}.{old_t[1] + 1}'
    else:
        expected = old_v
    problems: list[str] = []
    if spec.parse_version(new_v) is None:
        problems.append(f"version '{new_v}' is not MAJOR.MINOR")
    elif required and new_v == old_v:
        problems.append(
            f'the contract changed but its version did not: bump it to '
            f'{expected} ({required} bump)')
    elif required and new_v != expected:
        how = 'larger' if new_t > _version_key(expected) else 'smaller'
        problems.append(
            f'version {new_v} is a {how} bump than the change requires: '
            f'set it to {expected} ({required} bump)')
    elif not required and new_v != old_v:
        if new_v not in (new.get('changes') or {}):
            problems.append(
                f'version bumped from {old_v} to {new_v} without a change '
                f'of the contract: revert the bump, or explain the change '
                f'of meaning in the changelog (changes[{new_v!r}])')
    if new_v != old_v and not problems and \
            new_v not in (new.get('changes') or {}):
        problems.append(
            f'version {new_v} has no changelog entry: add '
            f'changes[{new_v!r}] to the flow, saying what changed')
    for version in (old.get('changes') or {}):
        if version not in (new.get('changes') or {}):
            problems.append(
                f'the changelog lost the entry of version {version}')
    if (old.get('changes') or {}) != (new.get('changes') or {}):
        changes.append(Change(None, 'changelog updated'))
    return Verdict(str(new.get('flow') or old.get('flow')), old_v, new_v,
                   changes, required, expected, problems)


def _compare_fields(old: Mapping[str, Any], new: Mapping[str, Any],
                    changes: list[Change]) -> None:
    old_fields = {f['name']: f for f in old.get('fields') or ()}
    new_fields = {f['name']: f for f in new.get('fields') or ()}
    for name, before in old_fields.items():
        after = new_fields.get(name)
        if after is None:
            changes.append(Change(MAJOR, f"state field '{name}' removed "
                                         f"(or renamed)"))
            continue
        if before['type'] != after['type']:
            changes.append(Change(MAJOR, (
                f"state field '{name}' retyped from {before['type']} to "
                f"{after['type']}")))
        if before['writable'] and not after['writable']:
            changes.append(Change(MAJOR, (
                f"state field '{name}' made read-only for hooks")))
        elif after['writable'] and not before['writable']:
            changes.append(Change(MINOR, (
                f"state field '{name}' made writable for hooks")))
        if before['doc'] != after['doc']:
            changes.append(Change(None, (
                f"state field '{name}' documented differently (if its "
                f"meaning changed, that is a major bump)")))
    for name in new_fields:
        if name not in old_fields:
            changes.append(Change(MINOR, f"state field '{name}' added"))


def _parent(stage_id: str) -> str:
    return stage_id.rpartition('.')[0]


def _compare_stages(old: Mapping[str, Any], new: Mapping[str, Any],
                    changes: list[Change]) -> None:
    old_stages = list(old.get('stages') or ())
    new_stages = list(new.get('stages') or ())
    new_by_id = {s['id']: s for s in new_stages}
    new_alias = {a: s['id'] for s in new_stages for a in s.get('aliases', ())}
    new_pos = {s['id']: i for i, s in enumerate(new_stages)}
    flow = str(new.get('flow') or old.get('flow'))
    mapping: dict[str, str] = {flow: flow}
    for stage in old_stages:
        sid = stage['id']
        if sid in new_by_id:
            mapping[sid] = sid
        elif sid in new_alias:
            mapping[sid] = new_alias[sid]
            changes.append(Change(MINOR, (
                f"stage '{sid}' renamed to '{new_alias[sid]}', its old ID "
                f"kept as an alias")))
        else:
            name = sid.rpartition('.')[2]
            moved = [s['id'] for s in new_stages
                     if s['id'].rpartition('.')[2] == name
                     and s['id'] not in {st['id'] for st in old_stages}]
            if moved:
                mapping[sid] = moved[0]
            else:
                changes.append(Change(MAJOR, (
                    f"stage '{sid}' removed (or renamed without an "
                    f"alias)")))
        for alias in stage.get('aliases', ()):
            target = mapping.get(sid)
            if target is None or \
                    alias not in new_by_id.get(target, {}).get('aliases', ()):
                changes.append(Change(MAJOR, (
                    f"alias '{alias}' of stage '{sid}' removed")))
    # Where each surviving stage runs: its sub-flow, then its place among
    # the stages that were its siblings.
    siblings: dict[str, list[str]] = {}
    for stage in old_stages:
        sid = stage['id']
        if sid not in mapping:
            continue
        target = mapping[sid]
        after = new_by_id[target]
        if stage['kind'] != after['kind']:
            changes.append(Change(MAJOR, (
                f"stage '{sid}' changed from a {stage['kind']} to a "
                f"{after['kind']}")))
        old_parent = mapping.get(_parent(sid))
        if old_parent != _parent(target):
            changes.append(Change(MAJOR, (
                f"stage '{sid}' moved from '{_parent(sid)}' to "
                f"'{_parent(target)}' (it now runs at another point)")))
            continue
        siblings.setdefault(_parent(target), []).append(target)
        if stage.get('optional') != after.get('optional'):
            what = 'optional' if after.get('optional') else 'not optional'
            changes.append(Change(MINOR, f"stage '{sid}' made {what}"))
    for group in siblings.values():
        for first, second in itertools.pairwise(group):
            if new_pos[first] > new_pos[second]:
                changes.append(Change(MAJOR, (
                    f"stage '{second}' now runs before '{first}' (the "
                    f"order of stages changed)")))
    known = set(mapping.values())
    for stage in new_stages:
        if stage['id'] not in known:
            changes.append(Change(MINOR, f"stage '{stage['id']}' added"))


def check_flow(flow: spec.Flow[Any], tree: str = TREE,
               ) -> tuple[Verdict | None, str | None]:
    """Compare a flow with its committed snapshot: (verdict, path); the
    verdict is None when the flow has no snapshot yet."""
    path = snapshot_path(flow.name, tree)
    if path is None:
        return None, None
    snapshot = load_snapshot(path)
    if snapshot is None:
        return None, path
    return compare(snapshot, contract_of(flow).as_dict()), path


# -- enforcing read-only fields ------------------------------------------

#: The values of a read-only field whose content is checked too: a hook
#: may not change them in place (``state.instance['host'] = ...``).
_CONTAINERS = (dict, list, set)


def _copy(value: Any) -> Any:
    """A copy of the dicts, lists and sets in ``value``, nested ones
    included, sharing everything else (scalars, datetimes, objects):
    what a hook could change in place and a comparison can see."""
    if isinstance(value, dict):
        return {key: _copy(item) if isinstance(item, _CONTAINERS) else item
                for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) if isinstance(item, _CONTAINERS) else item
                for item in value]
    if isinstance(value, set):
        return set(value)
    return value


#: id() of a read-only dict, list or set -> the latest copy of its
#: content, see _snapshot.
_SNAPSHOTS: dict[int, Any] = {}
#: How many copies _SNAPSHOTS keeps before it starts again (a bound on
#: its memory: the records of that many runs at the same time).
_SNAPSHOTS_KEPT = 256


def _snapshot(value: Any) -> Any:
    """What ``value``'s content is now, to compare with after a hook
    call: the copy taken last of this object if its content still equals
    it, else a new copy (:func:`_copy`).

    A flow's stages run one after the other on the same record, which
    few of them change: one copy of it serves the guarded hook calls of
    every stage until one does, each of them paying a comparison (in C)
    instead of a copy.  Reuse changes no verdict: the copy is never
    handed out or changed, and equal to the content it stands for, so
    ``content != copy`` after the call is what it is with a fresh copy
    (equality of the record's values - strings, numbers, datetimes - is
    an equivalence).  id() is only where to look: a copy found under the
    id of another object is used only if equal to that object's content,
    as it then could have been taken from it.
    """
    key = id(value)
    saved = _SNAPSHOTS.get(key)
    if saved is not None and not value != saved:
        return saved
    saved = _copy(value)
    if len(_SNAPSHOTS) >= _SNAPSHOTS_KEPT:
        _SNAPSHOTS.clear()
    _SNAPSHOTS[key] = saved
    return saved


def _contents(state: Any, names: Sequence[str]) -> dict[str, Any]:
    """Copies of the read-only fields holding a dict, list or set."""
    return {name: _snapshot(value) for name in names
            if isinstance(value := getattr(state, name, None), _CONTAINERS)}


def _restore(value: Any, saved: Any) -> None:
    """Put ``saved``'s content back into ``value``, in place (other
    references to the object see it restored too)."""
    if isinstance(value, dict):
        value.clear()
        value.update(saved)
    elif isinstance(value, list):
        value[:] = saved
    elif isinstance(value, set):
        value.clear()
        value.update(saved)


def guard(fn: Callable[..., Any], hook: str, stage_id: str,
          state_type: type, wraps: bool = False) -> Callable[..., Any]:
    """``fn(ctx, state, ...)`` held to the state type's read-only fields:
    when it returns (or raises) having assigned or deleted one, or
    changed the content of one holding a dict, list or set (a key set, an
    item appended), the field gets its value back and
    :class:`ReadOnlyFieldError` is raised.

    Assignments are found by comparing identities after the call, which
    keeps the state what it is (its type, ``dataclasses`` functions) and
    costs a fraction of a microsecond; contents by comparing with a copy
    of their dicts, lists and sets taken before the call - the copy taken
    for an earlier hook call while the content still equals it
    (:func:`_snapshot`), so that a run copies a record once per change
    of it, not once per hook call, and each call costs two comparisons
    in C (``python bench/flow_engine.py --guard-only`` prints the cost
    per hooked stage) - read-only views (``types.MappingProxyType``,
    tuples) handed to the hook instead would change the fields' types
    under the hook and under the flow's own stages, which do update some
    of them (the instance record).

    With ``wraps`` (an ``around``: ``fn(ctx, state, proceed)``) only the
    hook's own code is held to it: what the wrapped stages do between
    ``proceed()`` and its return is theirs to do.
    """
    read_only = tuple(sorted(read_only_fields(state_type)))
    if not read_only:
        return fn
    # attrgetter of two names or more returns a tuple, in C.
    values = operator.attrgetter(*read_only, *read_only[:1])

    def check(state: Any, before: tuple[Any, ...],
              held: dict[str, Any]) -> None:
        try:
            after = values(state)
        except AttributeError:  # a field deleted
            after = ()
        if len(after) != len(before) or \
                any(map(operator.is_not, before, after)):
            pairs = list(zip(read_only, before, strict=False))
            changed = next(name for name, old in pairs
                           if getattr(state, name, None) is not old)
            for name, old in pairs:
                setattr(state, name, old)
            raise ReadOnlyFieldError(hook, stage_id, state_type, changed)
        for name, saved in held.items():
            value = getattr(state, name)
            if value != saved:
                # A copy of the copy: the restored content must not share
                # a container with a copy _snapshot may hand out again.
                _restore(value, _copy(saved))
                raise ReadOnlyFieldError(hook, stage_id, state_type, name,
                                         in_place=True)

    @functools.wraps(fn)
    def guarded(ctx: Any, state: Any, *args: Any) -> Any:
        before = values(state)
        held = _contents(state, read_only)
        if wraps and args:
            proceed = args[0]

            def guarded_proceed(*a: Any, **kw: Any) -> Any:
                nonlocal before, held
                check(state, before, held)
                try:
                    return proceed(*a, **kw)
                finally:
                    before = values(state)
                    held = _contents(state, read_only)
            args = (guarded_proceed, *args[1:])
        try:
            result = fn(ctx, state, *args)
        except BaseException:
            check(state, before, held)
            raise
        check(state, before, held)
        return result
    return guarded
