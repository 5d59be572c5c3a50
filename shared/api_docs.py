"""Every service's ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), from assets shipped in this package.

No CDN, no web fonts: the pages work on an isolated network. The assets are the npm packages'
own files, with their licences beside them: ``shared/static/swagger_ui`` is swagger-ui-dist 5.35.0
(Apache-2.0, ``NOTICE.txt`` is its NOTICE) and ``shared/static/redoc`` is redoc 2.5.4's standalone
bundle (MIT). To update one: ``npm pack swagger-ui-dist@X`` / ``npm pack redoc@X`` and copy the same
files over.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

STATIC_DIR: Final = Path(__file__).parent / "static"
ASSETS_PATH: Final = "/docs/assets"
ASSET_TYPES: Final = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# What the two pages load; nothing else under STATIC_DIR is served.
SWAGGER_JS: Final = "swagger_ui/swagger-ui-bundle.js"
SWAGGER_CSS: Final = "swagger_ui/swagger-ui.css"
REDOC_JS: Final = "redoc/redoc.standalone.js"
SERVED: Final = frozenset({SWAGGER_JS, SWAGGER_CSS, REDOC_JS})
NO_ICON: Final = "data:,"  # an empty icon, so that the browser asks no server for one


def install_api_docs(app: FastAPI) -> None:
    """Add ``/docs``, ``/redoc`` and their assets to an app created with ``docs_url=None, redoc_url=None``."""

    def _root(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - API",
            swagger_js_url=f"{root}{ASSETS_PATH}/{SWAGGER_JS}",
            swagger_css_url=f"{root}{ASSETS_PATH}/{SWAGGER_CSS}",
            swagger_favicon_url=NO_ICON,
            oauth2_redirect_url=None,
            # Otherwise Swagger UI asks validator.swagger.io for a badge about the document.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - API",
            redoc_js_url=f"{root}{ASSETS_PATH}/{REDOC_JS}",
            redoc_favicon_url=NO_ICON,
            with_google_fonts=False,
        )

    @app.get(ASSETS_PATH + "/{bundle}/{name}", include_in_schema=False)
    async def api_docs_asset(bundle: str, name: str) -> FileResponse:
        asset = f"{bundle}/{name}"
        if asset not in SERVED:
            raise HTTPException(status_code=404)
        return FileResponse(
            STATIC_DIR / asset,
            media_type=ASSET_TYPES[Path(name).suffix],
            headers={"Cache-Control": "public, max-age=86400"},
        )
