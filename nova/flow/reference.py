"""The flow reference of the vendor guide, generated from the code.

``docs/flow-reference.md`` lists every registered flow: its contract
version, what an interrupted run does, its stages (as ``nova-manage flow
show`` prints them with no hook enabled) and its state fields with their
types and meanings.  It is generated, never edited::

    python -m nova.flow.reference > docs/flow-reference.md

(``tools/generate-flow-reference.sh``); a unit test fails when the file
differs from what the code says.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

from nova.flow import contract, render
from nova.flow.plan import compile_flows
from nova.flow.registry import discover_flows
from nova.flow.spec import Flow

HEADER = """\
# Flow reference

Generated from the code by `tools/generate-flow-reference.sh`; do not
edit. What each flow's stages are (with no hook enabled: `nova-manage flow
show FLOW` prints them with a deployment's hooks in place) and the fields
of its state, which stages and hooks read and write: a field marked
"read only" fails the stage of a hook that assigns it or changes its
content (`nova.flow.contract.ReadOnlyFieldError`). Stage IDs are
`<flow>.<stage>` (`<flow>.<sub-flow>.<stage>` inside a sub-flow). See
[the vendor guide](vendor-guide.md) for how hooks use them.
"""

_FIELD = re.compile(r'^\s*(\w+)\s*:')


def field_docs(state_type: type) -> dict[str, str]:
    """Field name -> meaning: a field's ``metadata['doc']``, else the
    ``#:`` comment lines right above it in the class source."""
    docs: dict[str, str] = {}
    try:
        source = textwrap.dedent(inspect.getsource(state_type))
    except (OSError, TypeError):
        source = ''
    comment: list[str] = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith('#:'):
            comment.append(stripped[2:].strip())
            continue
        match = _FIELD.match(line)
        if match and comment:
            docs[match.group(1)] = ' '.join(comment)
        comment = []
    if dataclasses.is_dataclass(state_type):
        for field in dataclasses.fields(state_type):
            doc = field.metadata.get('doc') if field.metadata else None
            if doc:
                docs[field.name] = str(doc)
    return docs


def _type_name(annotation: object) -> str:
    if isinstance(annotation, str):
        return annotation
    return getattr(annotation, '__name__', None) or repr(annotation)


def _state_section(flow: Flow[Any]) -> list[str]:
    state_type = flow.state_type
    lines = [f'State: `{state_type.__module__}.{state_type.__qualname__}`']
    doc = inspect.getdoc(state_type)
    if doc and not doc.startswith(state_type.__name__ + '('):
        lines += ['', ' '.join(doc.split('\n\n')[0].split())]
    if not dataclasses.is_dataclass(state_type):
        return lines
    docs = field_docs(state_type)
    read_only = contract.read_only_fields(state_type)
    lines += ['', '| field | type | hooks | meaning |', '|---|---|---|---|']
    for field in dataclasses.fields(state_type):
        meaning = docs.get(field.name, '').replace('|', '\\|')
        kind = _type_name(field.type).replace('|', '\\|')
        access = 'read only' if field.name in read_only else 'read, write'
        lines.append(f'| `{field.name}` | `{kind}` | {access} | {meaning} |')
    return lines


def render_reference(flows: Sequence[Flow[Any]]) -> str:
    """The whole reference document for ``flows``."""
    plans, _ = compile_flows(list(flows), [])
    out = [HEADER]
    names = sorted(plans)
    out.append('Flows: ' + ', '.join(f'`{n}`' for n in names) + '.\n')
    # One state type is often shared by several flows: described once
    # per flow all the same, so each section stands on its own.
    for name in names:
        plan = plans[name]
        out.append(f'## {name}\n')
        out.append('```')
        out.append(render.as_text(plan).rstrip('\n'))
        out.append('```\n')
        out.append('\n'.join(_state_section(plan.flow)) + '\n')
    return '\n'.join(out).rstrip('\n') + '\n'


def main() -> int:
    flows, problems = discover_flows()
    if problems:
        for problem in problems:
            print(f'error: {problem}', file=sys.stderr)
        return 1
    sys.stdout.write(render_reference(flows))
    return 0


if __name__ == '__main__':
    sys.exit(main())
