"""``python -m webapp``: serve the app with uvicorn on HOST:PORT with WEB_CONCURRENCY workers."""

from __future__ import annotations

import uvicorn

from webapp.config import ServerSettings


def main() -> None:
    """Run uvicorn with the settings from the environment (see webapp.config)."""
    server = ServerSettings.from_env()
    uvicorn.run(
        "webapp.main:app",
        host=server.host,
        port=server.port,
        workers=server.workers,
        server_header=False,
    )


if __name__ == "__main__":
    main()
