"""Reading and writing site files, with errors that name the field, the rule and the value."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import ValidationError

from sites.references import reference_errors
from sites.schema import AnyDevice, FuelSpec, Load, Site


class SiteError(ValueError):
    """A site file that cannot be read or does not validate; ``errors`` lists every problem."""

    def __init__(self, source: str, errors: list[str]):
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: " + "; ".join(errors))


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses repeated keys instead of keeping the last one."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"repeated key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse_yaml(text: str, source: str = "<site>") -> Any:
    """Parse YAML text; a syntax error becomes a SiteError naming the line and column."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        raise SiteError(source, [f"YAML syntax error at {where}: {exc.problem or exc}"]) from None
    except yaml.YAMLError as exc:
        raise SiteError(source, [f"YAML error: {exc}"]) from None


_RULES = {
    "less_than_equal": "must be ≤ {le}",
    "less_than": "must be < {lt}",
    "greater_than_equal": "must be ≥ {ge}",
    "greater_than": "must be > {gt}",
    "extra_forbidden": "unknown field",
    "missing": "required field is missing",
    "too_short": "needs at least {min_length} item(s)",
    "string_too_short": "must not be empty",
    "string_pattern_mismatch": "must match {pattern}",
    "literal_error": "must be one of {expected}",
}


def _path(loc: tuple[Any, ...], data: Any) -> str:
    """Render a pydantic location like ``devices[3] (village-battery).charge_efficiency_pu``.

    Discriminated unions add the tag (``battery``, ``fixed``) to the location; it is dropped,
    and the device's name is added after its index.
    """
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list | tuple) and part < len(node) else None
            if isinstance(node, dict) and "name" in node:
                out += f" ({node['name']})"
            continue
        if (
            isinstance(node, dict)
            and part not in node
            and part
            in (
                node.get("kind"),
                node.get("type"),
            )
        ):
            continue  # a discriminator tag, not a field
        node = node.get(part) if isinstance(node, dict) else None
        out += f".{part}" if out else str(part)
    return out


def _tags(union: Any) -> list[str]:
    """The tags of a discriminated union ``Annotated[A | B, Field(discriminator=...)]``."""
    members, info = get_args(union)
    tags: list[str] = []
    for member in get_args(members):
        if not isinstance(member, type):  # a nested union (the loads): its first member's tag
            member = get_args(get_args(member)[0])[0]
        tags.extend(get_args(member.model_fields[info.discriminator].annotation))
    return tags


def _quoted(tags: list[str]) -> str:
    return ", ".join(repr(t) for t in sorted(set(tags)))


#: What a missing tag may be, keyed by the last part of its location: a device (its index),
#: a load (``load``) or a genset's fuel (``fuel``).
_MISSING_TAG = {"device": _quoted(_tags(AnyDevice)), "load": _quoted(_tags(Load)),
                "fuel": _quoted(_tags(FuelSpec))}


def _message(err: Any) -> str:
    ctx = {k: f"{v:g}" if isinstance(v, float) else v for k, v in (err.get("ctx") or {}).items()}
    if err["type"] == "union_tag_invalid":
        field = ctx["discriminator"].strip("'")
        return f"{field} must be one of {ctx['expected_tags']}, got {ctx['tag']!r}"
    if err["type"] == "union_tag_not_found":
        field = ctx["discriminator"].strip("'")
        last = err["loc"][-1] if err["loc"] else 0
        allowed = _MISSING_TAG.get("device" if isinstance(last, int) else str(last), "")
        return f"{field} is required: one of {allowed}" if allowed else f"{field} is required"
    rule = _RULES.get(err["type"])
    if rule is not None:
        try:
            text = rule.format(**ctx)
        except KeyError:
            text = err["msg"]
    elif err["type"] == "value_error":
        text = str(ctx.get("error", err["msg"]))
    else:
        text = err["msg"]
    scalar = isinstance(err.get("input"), str | int | float | bool)
    if err["type"] in ("missing", "extra_forbidden", "value_error") or not scalar:
        return text
    return f"{text}, got {err['input']!r}"


def validation_errors(exc: ValidationError, data: Any) -> list[str]:
    """Every error of a validation, as ``path: rule, got value`` lines."""
    lines = []
    errors = exc.errors()
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "too_short" and any(
            tuple(e["loc"][: len(loc)]) == loc and len(e["loc"]) > len(loc) for e in errors
        ):
            continue  # pydantic's echo of failed items, not an error of its own
        path = _path(loc, data)
        for text in _message(err).split("\n"):  # the cross-reference check lists several
            lines.append(f"{path}: {text}" if path else text)
    return lines


def site_from_data(data: Any, source: str = "<site>") -> Site:
    """Validate parsed data into a Site, or raise SiteError with every problem found."""
    if not isinstance(data, dict):
        raise SiteError(source, [f"a site is a mapping of fields, got {type(data).__name__}"])
    try:
        return Site.model_validate(data)
    except ValidationError as exc:
        lines = validation_errors(exc, data)
    # field errors stop pydantic before the checks between devices: run those on the raw data
    devices = data.get("devices")
    if isinstance(devices, list):
        lines += [line for line in reference_errors(devices) if line not in lines]
    raise SiteError(source, lines)


def parse_site(text: str, source: str = "<site>") -> Site:
    """Parse and validate the text of a YAML (or JSON) site file."""
    return site_from_data(parse_yaml(text, source), source)


def load_site(path: str | Path) -> Site:
    """Read and validate a site file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SiteError(str(path), [f"cannot read the file: {exc.strerror}"]) from None
    except UnicodeDecodeError as exc:
        raise SiteError(str(path), [f"byte {exc.start}: not UTF-8 (save the file as UTF-8)"]
                        ) from None
    return parse_site(text, str(path))


def dump_site(site: Site) -> str:
    """The site as YAML that ``parse_site`` reads back to an equal Site."""
    data = site.model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def summary(site: Site) -> str:
    """A one-line description of a site, for the CLI."""
    counts: dict[str, int] = {}
    for d in site.devices:
        label = d.kind if d.kind != "load" else f"{d.type}_load"  # type: ignore[union-attr]
        counts[label] = counts.get(label, 0) + 1
    parts = ", ".join(f"{n} {k}" for k, n in counts.items())
    loc = site.location
    return (
        f"{site.name}: {len(site.devices)} devices ({parts}); "
        f"{loc.latitude_deg:.3f}°, {loc.longitude_deg:.3f}°, {loc.timezone}; "
        f"{site.step_minutes}-min steps"
    )
