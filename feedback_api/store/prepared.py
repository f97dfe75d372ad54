"""Core statements compiled once per dialect and run straight through the driver.

The intake hook runs half a dozen statements per batch while the writers' lock is held, and
SQLAlchemy's execute() spends more CPU on each than the database does running it, even with
the compiled form in its cache. `Prepared` keeps the SQL text per dialect and binds each value
through its type's processor, as execute() would (and as the group committer's INSERT does):
what is stored is exactly what the ORM writes. Rows come back as the driver gives them, with
no result processing: use it for statements whose results need none.
"""

from __future__ import annotations

from sqlalchemy import Connection, CursorResult
from sqlalchemy.sql import Executable
from sqlalchemy.types import NullType

_REQUIRED = object()


class Prepared:
    def __init__(self, statement: Executable):
        self.statement = statement
        # (dialect, driver) -> (SQL, [(parameter name, bind processor, default)] in SQL order)
        self._compiled: dict[tuple[str, str], tuple[str, list[tuple]]] = {}

    def execute(self, conn: Connection, params: dict | list[dict]) -> CursorResult:
        """Run with one set of parameters, or with each of a list of them (executemany)."""
        dialect = conn.dialect
        found = self._compiled.get((dialect.name, dialect.driver))
        sql, binds = found or self._compile(dialect)
        shape = tuple if dialect.positional else dict
        if isinstance(params, list):
            return conn.exec_driver_sql(sql, [_bound(shape, binds, p) for p in params])
        return conn.exec_driver_sql(sql, _bound(shape, binds, params))

    def _compile(self, dialect) -> tuple[str, list[tuple]]:
        compiled = self.statement.compile(dialect=dialect)
        if compiled.positional:
            names = compiled.positiontup
        else:
            names = list(dict.fromkeys(compiled.bind_names.values()))
        binds = []
        for name in names:
            bind = compiled.binds[name]
            if isinstance(bind.type, NullType):
                # Without a type there is no processor, and a datetime would be stored in
                # the driver's format instead of the ORM's.
                raise TypeError(f"parameter {name!r} has no type; give bindparam() a type_")
            default = _REQUIRED if bind.required else bind.value
            binds.append((name, bind.type._cached_bind_processor(dialect), default))
        self._compiled[(dialect.name, dialect.driver)] = (compiled.string, binds)
        return compiled.string, binds


def _bound(shape, binds: list[tuple], params: dict):
    values = []
    for name, process, default in binds:
        value = params[name] if default is _REQUIRED else params.get(name, default)
        values.append(value if process is None else process(value))
    if shape is tuple:
        return tuple(values)
    return {name: value for (name, _, _), value in zip(binds, values, strict=True)}
