"""docs/sites.md is generated from the schema and must match it."""

from pathlib import Path

from sites import reference as ref
from sites.reference import SECTIONS, reference

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


def test_a_device_kind_missing_from_the_sections_gets_one_with_its_nested_models(
    monkeypatch,
) -> None:
    kept = [(t, m) for t, m in SECTIONS if t not in ("digester", "digester feedstock")]
    monkeypatch.setattr(ref, "SECTIONS", kept)
    text = reference()
    assert "## digester\n" in text
    assert "## digester feedstocks\n" in text  # its field ``feedstocks``
    assert text.index("## digester\n") < text.index("## economics")
    assert text.count("## digester temperature") == 1  # listed already: not again
