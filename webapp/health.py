"""Liveness probe."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Report that the server is up (it says nothing about the model)."""
    return {"status": "ok"}
