"""nova uses the libraries it is built on through their public API only.

A private name of SQLAlchemy, oslo.*, eventlet, futurist, stevedore or
WebOb (an attribute or module whose name starts with one underscore) may
change or vanish in any release; code that reaches into one breaks
silently on upgrade, and no reviewer of those libraries would accept it.
This test reads every Python file of the tree that ships or runs (nova/,
bench/, tools/, contrib/; tests excluded) and fails on:

* importing a private module or name of those libraries
  (``from oslo_policy import _checks``, ``import eventlet._x``,
  ``from oslo_messaging._drivers import base``);
* ``getattr``/``setattr``/``hasattr`` of a private name on anything but
  ``self`` (the same access, spelled as a string);
* reading or setting a private attribute of a name bound to one of their
  modules (``sa._x``, ``enginefacade._x``) or of a variable named as the
  library objects nova handles are (``engine``, ``pool``, ``connection``,
  ``dialect``, ``transport``, ``enforcer``, ``cursor`` ...:
  ``pool._creator``, ``connection._cursor``).

Attributes of nova's own objects (``self._x``) are not the libraries'.
The few exceptions are listed in ALLOWED, each with its reason.
"""

from __future__ import annotations

import ast
import os

from nova import test

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
SCANNED = ('nova', 'bench', 'tools', 'contrib')

#: Top-level packages whose private names nova must not use.
LIBRARIES = frozenset({
    'sqlalchemy', 'alembic', 'oslo_db', 'oslo_policy', 'oslo_messaging',
    'oslo_middleware', 'oslo_config', 'oslo_log', 'oslo_concurrency',
    'oslo_context', 'oslo_utils', 'oslo_serialization',
    'oslo_upgradecheck', 'eventlet', 'greenlet', 'futurist', 'stevedore',
    'webob', 'routes', 'paste', 'keystonemiddleware', 'waitress'})

#: Names nova gives the library objects it handles; a private attribute
#: read through one of them is a library's.
LIBRARY_OBJECT_NAMES = frozenset({
    'engine', 'pool', 'connection', 'conn', 'dbapi_connection',
    'driver_connection', 'dialect', 'cursor', 'record', 'transport',
    'notifier', 'enforcer', 'hub', 'greenthread', 'executor',
    'context_manager', 'session', 'listener', 'rpc_server', 'target'})

#: Private-looking names that are public API, and the one private module
#: nova uses, each with why.
ALLOWED_ATTRIBUTES = {
    '_mapping': "sqlalchemy.engine.Row._mapping is SQLAlchemy's documented "
                'public accessor (underscored only to avoid clashing with '
                'column names)',
    '_asdict': "Row._asdict, SQLAlchemy's documented named-tuple API",
    '_fields': "Row._fields, SQLAlchemy's documented named-tuple API",
}
#: nova's own attributes read with getattr, by file.
ALLOWED_OWN = {
    ('nova/api/validation/__init__.py', '_body_schemas'):
        "nova's own attribute on the controller methods its schema "
        'decorators wrap',
    ('nova/api/validation/__init__.py', '_query_schemas'):
        "nova's own attribute on the controller methods its schema "
        'decorators wrap',
}
ALLOWED_MODULES = {
    ('nova/rpc_inprocess.py', 'oslo_messaging._drivers'):
        "oslo.messaging's driver plugin interface: a driver registered in "
        'the oslo.messaging.drivers entry point namespace must subclass '
        'oslo_messaging._drivers.base.BaseDriver (there is no public '
        'module for it)',
}


def _private(name: str) -> bool:
    return name.startswith('_') and not name.startswith('__')


def _top(module: str) -> str:
    return module.split('.', 1)[0]


def find_private_uses(source: str, path: str = '<snippet>'
                      ) -> list[tuple[int, str]]:
    """(line, what) for every private use of a library in ``source``."""
    tree = ast.parse(source, path)
    library_names: set[str] = set()
    problems: list[tuple[int, str]] = []

    def check_module(line: int, module: str) -> None:
        if _top(module) not in LIBRARIES:
            return
        for depth, part in enumerate(module.split('.')):
            if _private(part):
                prefix = '.'.join(module.split('.')[:depth + 1])
                if (path, prefix) not in ALLOWED_MODULES:
                    problems.append((line, f'private module {module}'))
                return

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                check_module(node.lineno, alias.name)
                if _top(alias.name) in LIBRARIES:
                    library_names.add(alias.asname or _top(alias.name))
        elif isinstance(node, ast.ImportFrom) and node.module and \
                node.level == 0:
            check_module(node.lineno, node.module)
            if _top(node.module) in LIBRARIES:
                for alias in node.names:
                    if _private(alias.name) and (
                            path, node.module) not in ALLOWED_MODULES:
                        problems.append((node.lineno, 'private name '
                                         f'{node.module}.{alias.name}'))
                    library_names.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        # getattr(obj, '_name') / setattr / hasattr: the same, spelled as
        # a string (only nova's own objects may be read that way: self).
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ('getattr', 'setattr', 'hasattr') \
                and len(node.args) >= 2 \
                and isinstance(node.args[1], ast.Constant) \
                and isinstance(node.args[1].value, str) \
                and _private(node.args[1].value) \
                and node.args[1].value not in ALLOWED_ATTRIBUTES \
                and (path, node.args[1].value) not in ALLOWED_OWN and not (
                    isinstance(node.args[0], ast.Name)
                    and node.args[0].id in ('self', 'cls')):
            problems.append((node.lineno, f'{node.func.id} of private '
                             f'attribute {node.args[1].value}'))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not _private(node.attr) \
                or node.attr in ALLOWED_ATTRIBUTES:
            continue
        base = node.value
        if isinstance(base, ast.Name):
            owner = base.id
        elif isinstance(base, ast.Attribute):
            owner = base.attr
        else:
            continue
        if owner in ('self', 'cls'):
            continue
        if owner in library_names or owner.lstrip('_').lower() in \
                LIBRARY_OBJECT_NAMES:
            problems.append((node.lineno,
                             f'private attribute {owner}.{node.attr}'))
    return problems


def _files() -> list[str]:
    found: list[str] = []
    for top in SCANNED:
        for directory, dirs, files in os.walk(os.path.join(ROOT, top)):
            dirs[:] = [d for d in dirs if d not in (
                'tests', '__pycache__', 'build', '.venv')
                and not d.endswith('.egg-info')]
            found.extend(os.path.join(directory, f) for f in files
                         if f.endswith('.py'))
    return sorted(found)


class TestNoPrivateAPI(test.TestCase):

    def test_tree_uses_no_private_library_api(self):
        problems = []
        files = _files()
        self.assertGreater(len(files), 100)
        for path in files:
            rel = os.path.relpath(path, ROOT)
            with open(path, encoding='utf-8') as f:
                source = f.read()
            problems.extend(f'{rel}:{line}: {what}'
                            for line, what in find_private_uses(source, rel))
        self.assertEqual([], problems)


class TestChecker(test.TestCase):
    """The checker finds what it is for and nothing else."""

    def uses(self, source):
        return [what for _, what in find_private_uses(source)]

    def test_private_attributes_of_library_objects(self):
        self.assertEqual(['private attribute pool._creator'],
                         self.uses('x = engine.pool._creator\n'))
        self.assertEqual(['private attribute connection._cursor'],
                         self.uses('connection._cursor.execute("BEGIN")\n'))
        self.assertEqual(['private attribute transport._transport_opts'],
                         self.uses('from oslo_messaging import transport\n'
                                   'x = transport._transport_opts\n'))
        self.assertEqual(['private attribute sa._x'],
                         self.uses('import sqlalchemy as sa\nsa._x = 1\n'))
        self.assertEqual(['private attribute TRANSPORT._driver'],
                         self.uses('x = TRANSPORT._driver\n'))
        self.assertEqual(
            ['getattr of private attribute _enginefacade_context'],
            self.uses("getattr(context, '_enginefacade_context', None)\n"))

    def test_private_modules_and_names(self):
        self.assertEqual(['private name oslo_policy._checks'],
                         self.uses('from oslo_policy import _checks\n'))
        self.assertEqual(['private module oslo_messaging._drivers'],
                         self.uses('from oslo_messaging._drivers '
                                   'import base\n'))
        self.assertEqual(['private module eventlet._x.y'],
                         self.uses('import eventlet._x.y\n'))

    def test_own_attributes_and_public_api_pass(self):
        self.assertEqual([], self.uses(
            'class A:\n'
            '    def f(self):\n'
            '        return self._engine, cls._x\n'
            'import sqlalchemy as sa\n'
            'row = None\n'
            'sa.select(1); dict(row._mapping)\n'
            'from nova import _private_helper\n'
            'import os; os._exit\n'))

    def test_the_allowed_module_is_allowed_only_where_listed(self):
        source = 'from oslo_messaging._drivers import base\n'
        self.assertEqual([], find_private_uses(source,
                                               'nova/rpc_inprocess.py'))
        self.assertTrue(find_private_uses(source, 'nova/other.py'))
