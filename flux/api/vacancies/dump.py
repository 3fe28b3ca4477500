"""A marshmallow schema's dump, compiled once into plain functions (for lists of 500 rows).

``Schema.dump`` walks each field through several layers of calls (get_value, serialize,
_serialize…): for a page of 500 vacancies with their explanations that is ~80 000 field
serialisations and a third of the request. ``compile_dump`` reads the schema's declared
fields once and returns a function giving the same output for the field types the vacancy
schemas use (integers, strings, booleans, dates, date-times, dicts, raw values, nested schemas
and lists of them); any other field type falls back to the field's own ``serialize``. The
schema stays the OpenAPI document's source, and a test checks that both dumps are equal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import marshmallow as ma

Dump = Callable[[Any], Any]


def compile_dump(schema: ma.Schema) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """One object (a dict, as the services build them) dumped as ``schema.dump`` would."""
    fields = [
        (field.data_key or name, field.attribute or name, _value_dump(field))
        for name, field in schema.dump_fields.items()
    ]

    def dump(obj: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for key, attribute, convert in fields:
            if attribute in obj:
                value = obj[attribute]
                out[key] = None if value is None else convert(value)
        return out

    return dump


def _same(value: Any) -> Any:
    return value


def _boolean(field: ma.fields.Boolean) -> Dump:
    truthy, falsy = field.truthy, field.falsy

    def convert(value: Any) -> Any:
        try:
            if value in truthy:
                return True
            if value in falsy:
                return False
        except TypeError:
            pass
        return bool(value)

    return convert


def _value_dump(field: ma.fields.Field) -> Dump:
    """How one field turns a value that is not None into its dumped form."""
    kind = type(field)
    if field.dump_default is not ma.missing:
        return _fallback(field)
    if kind is ma.fields.Integer and not field.strict:
        return int
    if kind is ma.fields.String:
        return str
    if kind is ma.fields.Boolean:
        return _boolean(field)
    if kind is ma.fields.Date and field.format in ("iso", "iso8601"):
        return date.isoformat  # as marshmallow's: a datetime given shows its date only
    if kind is ma.fields.DateTime and field.format in ("iso", "iso8601"):
        return datetime.isoformat
    if kind is ma.fields.Raw:
        return _same
    if kind is ma.fields.Dict and field.key_field is None and field.value_field is None:
        return dict
    if kind is ma.fields.Nested and not field.many and field.only is None and not field.exclude:
        return compile_dump(field.schema)
    if kind is ma.fields.List:
        inner = _value_dump(field.inner)
        return lambda values: [None if v is None else inner(v) for v in values]
    return _fallback(field)


def _fallback(field: ma.fields.Field) -> Dump:
    name = field.name

    def convert(value: Any) -> Any:
        return field.serialize(name, {name: value})

    return convert
