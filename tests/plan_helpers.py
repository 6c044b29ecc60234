"""Queries over a plan document, shared by the tests that read one."""

from __future__ import annotations

from typing import Any

Doc = dict[str, Any]


def of_type(doc: Doc, type_token: str, region: str | None = None) -> list[dict[str, Any]]:
    return [r for r in doc["resources"] if r["type"] == type_token and (region is None or r["region"] == region)]


def by_urn(doc: Doc) -> dict[str, dict[str, Any]]:
    return {r["urn"]: r for r in doc["resources"]}


def tagged(resources: list[dict[str, Any]], key: str, value: str) -> list[dict[str, Any]]:
    return [r for r in resources if (r["inputs"].get("tags") or {}).get(key) == value]
