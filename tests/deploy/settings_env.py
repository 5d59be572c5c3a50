"""The environment variables each Vidnova process reads, taken from ``shared.settings``."""

from __future__ import annotations

from pydantic import AliasChoices, AliasPath, BaseModel

from shared import settings
from vidnova.serve import SETTINGS_CLASSES

# Variables the Python runtime itself reads; a container may set them without a settings field.
PYTHON_RUNTIME_VARIABLES = frozenset({"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"})


def _alias_names(alias: str | AliasChoices | AliasPath | None) -> set[str]:
    if alias is None:
        return set()
    if isinstance(alias, str):
        return {alias}
    if isinstance(alias, AliasChoices):
        return {choice for choice in alias.choices if isinstance(choice, str)}
    # An AliasPath reads a key inside one variable: the variable is its first element.
    first = alias.path[0]
    return {first} if isinstance(first, str) else set()


def variables_read_by(model: type[BaseModel]) -> frozenset[str]:
    """Every ``validation_alias`` of ``model``, following nested settings models."""
    names: set[str] = set()
    for field in model.model_fields.values():
        names |= _alias_names(field.validation_alias)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= variables_read_by(annotation)
    # pydantic-settings matches variable names case-insensitively by default.
    return frozenset(name.upper() for name in names)


def service_variables(service: str) -> frozenset[str]:
    """What ``vidnova serve SERVICE`` (or ``vidnova migrate SERVICE``) may read."""
    settings_class = SETTINGS_CLASSES[service]  # type: ignore[index]
    return (
        variables_read_by(settings_class)
        | variables_read_by(settings.KafkaSettings)
        | variables_read_by(settings.AuthSettings)
    )


def all_service_variables() -> frozenset[str]:
    """What a process touching every service (``vidnova migrate all``, ``topics``) may read."""
    return frozenset().union(*(service_variables(name) for name in settings.SERVICE_NAMES))


SERVICE_NAMES: tuple[str, ...] = tuple(settings.SERVICE_NAMES)
DEFAULT_PORTS: dict[str, int] = dict(settings.DEFAULT_PORTS)
