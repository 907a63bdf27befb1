"""docs/sites.md is generated from the schema and must match it."""

from pathlib import Path

from sites.reference import SECTIONS, device_kinds, reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "sites.md"


def test_committed_reference_matches_the_schema() -> None:
    assert DOC.read_text(encoding="utf-8") == reference(), (
        "docs/sites.md is out of date: run `python -m sites.reference > docs/sites.md`"
    )


def test_every_field_of_every_section_is_listed() -> None:
    text = reference()
    for _, model in SECTIONS:
        for name in model.model_fields:
            assert f"`{name}" in text, name


def test_every_device_kind_has_a_section() -> None:
    kinds = device_kinds()
    assert len(kinds) >= 8 and all("kind" in k.model_fields for k in kinds)
    documented = [model for _, model in SECTIONS]
    assert [k for k in kinds if documented.count(k) != 1] == []
