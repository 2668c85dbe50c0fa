"""The web page, built from ``web/`` by the package's build step into ``static/``, and the headers
every answer carries."""

from pathlib import Path
from typing import Any

from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    """The web page, built from ``web/`` by the package's build step into ``static/``. Served with a
    content security policy that runs only its own scripts, so nothing a model wrote can run in it."""
    from importlib import resources

    from fastapi.responses import FileResponse, HTMLResponse
    from fastapi.staticfiles import StaticFiles

    static = Path(str(resources.files("agentco.server").joinpath("static")))
    policy = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
              "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")  # fmt: skip

    app.add_middleware(SecureHeaders, policy=policy)

    if not (static / "index.html").is_file():

        @app.get("/", include_in_schema=False)
        async def not_built() -> HTMLResponse:
            return HTMLResponse("<p>The web page was not built: install agentco from its source with npm on the "
                                "PATH (pip install -e '.[server]'), or run npm run build in web/.</p>", 503)  # fmt: skip

        return
    app.mount("/assets", StaticFiles(directory=static / "assets"), name="assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        """The API described by its OpenAPI document, drawn by Swagger UI from this server's own files."""
        from fastapi.openapi.docs import get_swagger_ui_html

        page = get_swagger_ui_html(openapi_url="/openapi.json", title="agentco API",
                                   swagger_js_url="/assets/swagger/swagger-ui-bundle.js",
                                   swagger_css_url="/assets/swagger/swagger-ui.css", swagger_favicon_url="")  # fmt: skip
        # Swagger UI starts itself with an inline script; this page shows no model output
        page.headers["Content-Security-Policy"] = policy.replace(
            "script-src 'self'", "script-src 'self' 'unsafe-inline'"
        )
        return page

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(static / "index.html")


class SecureHeaders:
    """Headers every answer carries (a plain ASGI middleware, so streamed answers pass untouched)."""

    def __init__(self, app: Any, policy: str):
        self.app = app
        self.headers = [(b"content-security-policy", policy.encode()), (b"x-frame-options", b"DENY"),
                        (b"referrer-policy", b"no-referrer"), (b"x-content-type-options", b"nosniff")]  # fmt: skip

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                have = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in self.headers if h[0] not in have)]
            await send(message)

        await self.app(scope, receive, with_headers)
