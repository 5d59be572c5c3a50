"""The environment variables each Vidnova process reads, taken from ``shared.settings``."""

from __future__ import annotations

import importlib
import importlib.util

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


# The console runs from the same image as a fourth process, deployed like the services. Its settings
# class lives in its own package (services/console/settings.py); where that package is not there yet
# (a branch without it), the variables it is agreed to read stand in for the class.
CONSOLE = "console"
CONSOLE_PORT = 8000
AGREED_CONSOLE_VARIABLES = frozenset(
    {
        "CONSOLE_DATABASE_URL",
        "CONSOLE_PORT",
        "CONSOLE_PUBLIC_URL",
        "CONSOLE_OIDC_ISSUER",
        "CONSOLE_OIDC_CLIENT_ID",
        "CONSOLE_OIDC_CLIENT_SECRET",
        "REQUESTS_URL",
        "ALLOCATION_URL",
        "NOTIFICATIONS_URL",
    }
)


def _console_variables() -> frozenset[str]:
    if CONSOLE in SETTINGS_CLASSES:
        return variables_read_by(SETTINGS_CLASSES[CONSOLE])  # type: ignore[index]
    if importlib.util.find_spec("services.console") is None:
        return variables_read_by(settings.ServiceSettings) | AGREED_CONSOLE_VARIABLES
    console_settings = importlib.import_module("services.console.settings")
    return variables_read_by(console_settings.ConsoleSettings)


def service_variables(service: str) -> frozenset[str]:
    """What ``vidnova serve SERVICE`` (or ``vidnova migrate SERVICE``) may read."""
    own = (
        _console_variables() if service == CONSOLE else variables_read_by(SETTINGS_CLASSES[service])  # type: ignore[index]
    )
    return own | variables_read_by(settings.KafkaSettings) | variables_read_by(settings.AuthSettings)


def all_service_variables() -> frozenset[str]:
    """What a process touching every service (``vidnova migrate all``, ``topics``) may read."""
    return frozenset().union(*(service_variables(name) for name in DEPLOYED))


# The three services behind the console: each owns topics, consumers and a public API.
SERVICE_NAMES: tuple[str, ...] = tuple(settings.SERVICE_NAMES)
# Every process a deployment runs from the image (each with its own database and Kafka user).
DEPLOYED: tuple[str, ...] = (CONSOLE, *SERVICE_NAMES)
DEFAULT_PORTS: dict[str, int] = {**settings.DEFAULT_PORTS, CONSOLE: CONSOLE_PORT}
