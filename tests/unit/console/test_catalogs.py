"""Every message the console shows has a Ukrainian translation, and the catalogs hold no stale ids."""

from __future__ import annotations

from babel.messages.pofile import read_po

from services.console.catalogs import catalog_path, extract_messages


def _catalog(locale: str) -> dict[str, str]:
    with catalog_path(locale).open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle, locale=locale) if m.id}


def test_every_message_in_templates_and_code_has_a_ukrainian_translation() -> None:
    used = extract_messages()
    ukrainian = _catalog("uk")
    missing = {m: where for m, where in used.items() if not ukrainian.get(m)}
    assert used
    assert not missing, f"untranslated (run `python -m services.console.catalogs`): {missing}"


def test_catalogs_list_exactly_the_messages_in_use() -> None:
    used = set(extract_messages())
    assert set(_catalog("uk")) == used
    assert set(_catalog("en")) == used
