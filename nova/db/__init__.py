"""nova's database: models, the DB API, migrations and the flow recorder.

* :mod:`nova.db.models` - the tables (SQLAlchemy 2 declarative);
* :mod:`nova.db.api` - every query and write, as functions taking a
  request context first; reads return plain dicts;
* :mod:`nova.db.migration` - alembic schema migrations
  (``nova-manage db sync``);
* :mod:`nova.db.recorder` - the flow engine's database recorder.
"""
