"""What the project keeps on this machine outside the repository: Kafka jars, the local PostgreSQL URL."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Outside the repository: the Kafka jars, the local PostgreSQL password and URL."""
    return Path(os.environ.get("VIDNOVA_CACHE", Path.home() / ".cache" / "vidnova"))


def local_postgres_url() -> str | None:
    """The URL the script wrote (role `vidnova` with its generated password), if it ran here."""
    url_file = cache_dir() / "postgres.url"
    if not url_file.exists():
        return None
    return url_file.read_text().strip() or None
