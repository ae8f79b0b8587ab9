"""Printing a compiled flow: text for operators, DOT for diagrams.

Both show the *effective* stage list: the flow's own stages with the enabled
hooks in place (inserted stages, arounds, replacements, listeners) and the
stages switched off by ``[flow] disabled_stages`` marked.
"""

from __future__ import annotations

from nova.flow.events import EventKind
from nova.flow.plan import Group, Leaf, Node, Plan


def _notes(node: Node) -> list[str]:
    notes: list[str] = []
    if node.hook:
        notes.append(f'inserted by hook {node.hook}')
    if isinstance(node, Leaf) and node.replaced_by:
        notes.append(f'replaced by hook {node.replaced_by}')
    if node.arounds:
        names = ', '.join(c.hook.name for c in node.arounds)
        notes.append(f'around: {names}')
    if isinstance(node, Leaf) and node.revert is not None:
        notes.append('reverts')
    if node.optional:
        notes.append('optional')
    if node.disabled:
        notes.append('DISABLED by [flow] disabled_stages')
    return notes


def listened_events(plan: Plan) -> dict[str, list[str]]:
    """Hook name -> the event kinds it listens to, in event order."""
    found: dict[str, list[str]] = {}
    for kind in EventKind:
        for hook_name, _ in plan.listeners[kind]:
            kinds = found.setdefault(hook_name, [])
            if kind.value not in kinds:
                kinds.append(kind.value)
    return found


def hooks_acting(plan: Plan) -> list[str]:
    """Names of the hooks that change or observe this flow, sorted."""
    names: set[str] = set(listened_events(plan))
    for _, node in plan.walk():
        if node.hook:
            names.add(node.hook)
        if isinstance(node, Leaf) and node.replaced_by:
            names.add(node.replaced_by)
        names.update(c.hook.name for c in node.arounds)
    return sorted(names)


def as_text(plan: Plan) -> str:
    flow = plan.flow
    lines = [f'{flow.name}  (contract {flow.version}, '
             f'interrupted runs: {flow.on_interrupt})']
    if flow.doc:
        lines.append(f'  {flow.doc}')
    if any(isinstance(node, Group) for _, node in plan.walk()):
        lines.append(f'  stage IDs: {flow.name}.<stage>, '
                     f'{flow.name}.<sub-flow>.<stage>')
    else:
        lines.append(f'  stage IDs: {flow.name}.<stage>')

    def visit(group: Group, depth: int, number: str) -> None:
        for index, child in enumerate(group.children, 1):
            label = f'{number}{index}'
            notes = _notes(child)
            suffix = f'  [{"; ".join(notes)}]' if notes else ''
            pad = '  ' * (depth + 1)
            title = child.name + (':' if isinstance(child, Group) else '')
            lines.append(f'{pad}{label}. {title}{suffix}')
            if isinstance(child, Group):
                visit(child, depth + 1, f'{label}.')
    visit(plan.root, 0, '')
    if plan.failure_handlers:
        names = ', '.join(name for name, _ in plan.failure_handlers)
        lines.append(f'  on failure: {names}')
    listeners = listened_events(plan)
    if listeners:
        described = '; '.join(f'{hook} ({", ".join(kinds)})'
                              for hook, kinds in sorted(listeners.items()))
        lines.append(f'  listeners: {described}')
    hooks = hooks_acting(plan)
    lines.append(f'  hooks: {", ".join(hooks) if hooks else "(none)"}')
    return '\n'.join(lines) + '\n'


def _quote(text: str) -> str:
    # Backslashes are left alone: the labels use DOT's own \n line breaks.
    return '"' + text.replace('"', '\\"') + '"'


def as_dot(plan: Plan) -> str:
    """Graphviz DOT: stages in run order, sub-flows as clusters, hooks'
    stages filled, disabled stages dashed, hook notes in the labels."""
    flow = plan.flow
    lines = [f'digraph {_quote(flow.name)} {{', '  rankdir=TB;',
             '  node [shape=box, fontname="Helvetica"];',
             f'  label={_quote(f"{flow.name} {flow.version}")}; '
             f'labelloc=t;']
    previous: list[str] = []

    def visit(group: Group, indent: str) -> None:
        for child in group.children:
            if isinstance(child, Group):
                lines.append(f'{indent}subgraph '
                             f'{_quote("cluster_" + child.id)} {{')
                label = child.name
                if child.arounds:
                    label += '\\n(around: ' + ', '.join(
                        c.hook.name for c in child.arounds) + ')'
                if child.disabled:
                    label += '\\n(DISABLED)'
                lines.append(f'{indent}  label={_quote(label)};')
                if child.disabled:
                    lines.append(f'{indent}  style=dashed;')
                visit(child, indent + '  ')
                lines.append(f'{indent}}}')
                continue
            label = '\\n'.join([child.name] + [
                f'({note})' for note in _notes(child)
                if note not in ('reverts', 'optional')])
            attrs = [f'label={_quote(label)}']
            styles = []
            if child.hook or (isinstance(child, Leaf) and child.replaced_by):
                styles.append('filled')
                attrs.append('fillcolor="#ffe9a8"')
            if child.disabled:
                styles.append('dashed')
                attrs.append('fontcolor=gray')
            if styles:
                attrs.append(f'style={_quote(",".join(styles))}')
            lines.append(f'{indent}{_quote(child.id)} [{", ".join(attrs)}];')
            if previous:
                lines.append(f'{indent}{_quote(previous[-1])} -> '
                             f'{_quote(child.id)};')
            previous.append(child.id)
    visit(plan.root, '  ')
    if plan.failure_handlers:
        names = ', '.join(name for name, _ in plan.failure_handlers)
        lines.append(f'  "on_failure" [shape=note, '
                     f'label={_quote("on failure: " + names)}];')
    listeners = listened_events(plan)
    if listeners:
        label = '\\n'.join(['listeners'] + [
            f'{hook}: {", ".join(kinds)}'
            for hook, kinds in sorted(listeners.items())])
        lines.append(f'  "listeners" [shape=note, label={_quote(label)}];')
    lines.append('}')
    return '\n'.join(lines) + '\n'
