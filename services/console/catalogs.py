"""Keep the `.po` catalogs in step with the templates and code: `python -m services.console.catalogs`."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from services.console.domain import LOCALES
from services.console.translations import LOCALE_DIR, PACKAGE

METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
KEYWORDS: dict[str, None] = {"_": None, "gettext": None, "N_": None}


def extract_messages(root: Path = PACKAGE) -> dict[str, list[tuple[str, int]]]:
    """Every message id in the console's templates and code, with where it is used."""
    found: dict[str, list[tuple[str, int]]] = {}
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(root), METHODS, options_map=options, keywords=KEYWORDS
    ):
        if isinstance(message, str):
            found.setdefault(message, []).append((filename, lineno))
    return found


def catalog_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


def update_catalogs() -> None:
    """Add new ids to each `.po` (untranslated), drop unused ones, keep every translation."""
    messages = extract_messages()
    for locale in LOCALES:
        path = catalog_path(locale)
        known: dict[str, str] = {}
        if path.exists():
            with path.open("rb") as handle:
                known = {str(m.id): str(m.string) for m in read_po(handle, locale=locale) if m.id}
        catalog = Catalog(locale=locale, project="Vidnova console", charset="utf-8", fuzzy=False)
        for message_id in sorted(messages):
            catalog.add(message_id, known.get(message_id, ""), locations=messages[message_id])
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=110, omit_header=False, sort_output=True, include_lineno=False)


if __name__ == "__main__":
    update_catalogs()
