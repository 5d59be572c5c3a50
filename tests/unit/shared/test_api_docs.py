"""Every service's /docs and /redoc work offline: they reference only this server's assets, and each
asset answers with its content type."""

from __future__ import annotations

import importlib
import logging
import re
import uuid

import httpx
import pytest
from fastapi import FastAPI

from shared.settings import SERVICE_NAMES, AuthSettings
from vidnova.broker import free_port
from vidnova.serve import SETTINGS_CLASSES

REFERENCE = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""")
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css"}


def service_app(name: str) -> FastAPI:
    """The service's real app (its lifespan, which needs the database and the broker, never runs)."""
    settings = SETTINGS_CLASSES[name](  # type: ignore[call-arg]
        **{f"{name.upper()}_PORT": free_port()}, auth=AuthSettings(VIDNOVA_AUTH_SECRET=uuid.uuid4().hex * 2)
    )
    handlers = logging.getLogger().handlers[:]
    try:
        app: FastAPI = importlib.import_module(f"services.{name}.app").create_app(settings)
    finally:
        logging.getLogger().handlers[:] = handlers  # the app configures logging for a process of its own
    return app


@pytest.fixture(scope="module", params=SERVICE_NAMES)
def app(request: pytest.FixtureRequest) -> FastAPI:
    return service_app(request.param)


def client(app: FastAPI, root_path: str = "") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, root_path=root_path)
    return httpx.AsyncClient(transport=transport, base_url="http://service.test")


def references(html: str) -> list[str]:
    return [a or b for a, b in REFERENCE.findall(html)]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_api_pages_load_only_assets_of_the_service_itself(app: FastAPI, page: str) -> None:
    async with client(app) as http:
        response = await http.get(page)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        found = references(response.text)
        assert "/openapi.json" in found
        assert not re.search(r"https?://|//[a-z]", response.text), "the page names another host"
        assets = [url for url in found if url.startswith("/docs/assets/")]
        assert assets, found
        assert set(found) <= {*assets, "/openapi.json", "data:,"}
        for url in assets:
            asset = await http.get(url)
            assert asset.status_code == 200, url
            suffix = url[url.rindex(".") :]
            assert asset.headers["content-type"].startswith(CONTENT_TYPES[suffix]), url
            assert len(asset.content) > 100_000, url  # the real bundle, not a stub


async def test_api_pages_behind_a_path_prefix_load_their_assets_through_it(app: FastAPI) -> None:
    async with client(app, root_path="/api") as http:
        for page in ("/docs", "/redoc"):
            found = references((await http.get(page)).text)
            assert "/api/openapi.json" in found
            assert all(url.startswith("/api/") or url == "data:," for url in found), found


@pytest.mark.parametrize(
    "path",
    ["/docs/assets/swagger_ui/LICENSE", "/docs/assets/redoc/nothing.js", "/docs/assets/..%2Fapi_docs.py/x"],
)
async def test_only_the_pages_assets_are_served(app: FastAPI, path: str) -> None:
    async with client(app) as http:
        assert (await http.get(path)).status_code == 404
