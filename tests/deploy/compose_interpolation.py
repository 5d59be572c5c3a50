"""Compose-file variable interpolation, as the Compose specification defines it.

Supports ``$$``, ``$NAME``, ``${NAME}``, ``${NAME:-default}``, ``${NAME-default}``,
``${NAME:?error}``, ``${NAME?error}``, ``${NAME:+replacement}`` and ``${NAME+replacement}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_REFERENCE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<operator>:-|-|:\?|\?|:\+|\+)(?P<argument>.*))?$"
)


class MissingRequiredVariable(LookupError):
    """A ``${NAME:?message}`` reference met an unset (or empty) variable."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


@dataclass(frozen=True)
class Reference:
    """One ``${…}`` or ``$NAME`` in a value."""

    name: str
    operator: str | None
    argument: str | None

    @property
    def required(self) -> bool:
        return self.operator in (":?", "?")

    @property
    def has_default(self) -> bool:
        return self.operator in (":-", "-")


def references(value: str) -> list[Reference]:
    """The variable references in one string."""
    found = []
    for match in _REFERENCE.finditer(value):
        if match.group("escaped"):
            continue
        if match.group("named"):
            found.append(Reference(match.group("named"), None, None))
            continue
        braced = _BRACED.match(match.group("braced"))
        if braced is None:
            raise ValueError(f"invalid interpolation: {match.group(0)!r}")
        found.append(Reference(braced["name"], braced["operator"], braced["argument"]))
    return found


def _substitute(reference: Reference, environment: Mapping[str, str]) -> str:
    value = environment.get(reference.name)
    unset_or_empty = not value
    operator, argument = reference.operator, reference.argument or ""
    if operator == ":-":
        return argument if unset_or_empty else value  # type: ignore[return-value]
    if operator == "-":
        return argument if value is None else value
    if operator == ":?" and unset_or_empty:
        raise MissingRequiredVariable(reference.name, argument)
    if operator == "?" and value is None:
        raise MissingRequiredVariable(reference.name, argument)
    if operator == ":+":
        return "" if unset_or_empty else argument
    if operator == "+":
        return "" if value is None else argument
    return value or ""


def interpolate(value: str, environment: Mapping[str, str]) -> str:
    """``value`` with every reference replaced."""

    def replace(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        (reference,) = references(match.group(0))
        return _substitute(reference, environment)

    return _REFERENCE.sub(replace, value)


def interpolate_tree(node: Any, environment: Mapping[str, str]) -> Any:
    """A copy of a parsed YAML tree with every string value interpolated."""
    if isinstance(node, str):
        return interpolate(node, environment)
    if isinstance(node, dict):
        return {key: interpolate_tree(value, environment) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(item, environment) for item in node]
    return node


def strings(node: Any) -> Iterator[str]:
    """Every string value in a parsed YAML tree."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
