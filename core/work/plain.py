"""Frozen dataclasses to JSON-able values and back, exactly (tuples stay tuples, nested settings their classes).

Hand-written rather than a library (cattrs, dacite): the specs use only dataclasses, tuples, optional values
and plain scalars, so twenty lines cover them and the app gains no dependency; each class's own
``__post_init__`` checks the values on the way back in.
"""

from __future__ import annotations

import types
import typing
from dataclasses import fields, is_dataclass
from functools import cache


def to_plain(value):
    """Dataclasses become dicts of their init fields, tuples lists; scalars stay as they are."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in fields(value) if f.init}
    if isinstance(value, (tuple, list)):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_plain(item) for key, item in value.items()}
    return value


@cache
def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def from_plain(hint, value):
    """The value of type ``hint`` that ``to_plain`` made ``value`` from; unknown fields are refused."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        return from_plain(next(a for a in args if a is not type(None)), value)
    if is_dataclass(hint):
        if not isinstance(value, dict):
            raise ValueError(f"{hint.__name__} must be a JSON object, got {type(value).__name__}")
        known = {f.name for f in fields(hint) if f.init}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"{hint.__name__} has no field {', '.join(unknown)}")
        return hint(**{name: from_plain(_hints(hint)[name], item) for name, item in value.items()})
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_plain(args[0], item) for item in value)
        return tuple(from_plain(arg, item) for arg, item in zip(args, value, strict=True))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
