"""JSON Schemas of every event payload and of the envelope, exported to ``docs/events/``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.events.envelope import CloudEvent
from shared.events.registry import EVENT_TYPES


def schema_documents() -> dict[str, dict[str, Any]]:
    """File name → JSON Schema, for the envelope and each event type's payload."""
    documents: dict[str, dict[str, Any]] = {"envelope.json": CloudEvent.model_json_schema()}
    for event_type in EVENT_TYPES.values():
        schema = event_type.payload.model_json_schema()
        schema["$id"] = f"https://vidnova.example/events/{event_type.ce_type}.json"
        schema["x-vidnova"] = {
            "type": event_type.ce_type,
            "topic": f"<prefix>.{event_type.stream}",
            "key": event_type.key_field,
        }
        documents[f"{event_type.ce_type}.json"] = schema
    return documents


def render(document: dict[str, Any]) -> str:
    """Stable text form (sorted keys, UTF-8, trailing newline)."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export_schemas(directory: Path) -> list[Path]:
    """Write every schema under ``directory``, removing stale ones; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    documents = schema_documents()
    for stale in directory.glob("*.json"):
        if stale.name not in documents:
            stale.unlink()
    written = []
    for name, document in sorted(documents.items()):
        path = directory / name
        path.write_text(render(document), encoding="utf-8")
        written.append(path)
    return written
