"""docs/manifest.md is generated from the schema's field descriptions, and every field has one."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import Field, create_model

from offline import manifest_doc
from regions import schema


def test_the_committed_reference_is_what_make_docs_generates() -> None:
    assert manifest_doc.MANIFEST_DOC.read_text(encoding="utf-8") == manifest_doc.document(), \
        "run `make docs`: docs/manifest.md differs from regions/schema.py"


def test_a_changed_description_makes_the_reference_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    field = schema.Kafka.model_fields["brokers"]
    monkeypatch.setattr(field, "description", "something else")
    assert manifest_doc.MANIFEST_DOC.read_text(encoding="utf-8") != manifest_doc.document()


def test_every_manifest_field_has_a_description_in_the_reference() -> None:
    paths = [(path, field) for path, field in manifest_doc.fields()]
    assert len(paths) > 80
    assert [path for path, field in paths if not (field.description or "").strip()] == []
    text = manifest_doc.MANIFEST_DOC.read_text(encoding="utf-8")
    assert all(f"| `{path}` |" in text for path, _ in paths)


def test_the_walk_finds_a_field_without_a_description() -> None:
    inner = create_model("Inner", size=(int, Field(ge=1, description="how many")), bare=(str, ...))
    outer: Any = create_model("Outer", items=(list[inner], Field(default=[], description="the items")))
    found = {path: field for path, field in manifest_doc.fields(outer)}
    assert list(found) == ["items", "items[].size", "items[].bare"]
    assert found["items[].bare"].description is None
    assert manifest_doc._constraints(found["items[].size"]) == ">= 1"
    assert manifest_doc._default(found["items"]) == "`[]` (empty)"
