"""The event catalogue as data: every JSON Schema in events/schemas follows the project's
conventions, accepts the realistic examples of tests/data/catalogue_examples.json, and rejects each
kind of bad field, per type and per field (one test id per type, mutation and field).

Conventions checked (see docs/EVENTS.md): draft-07, closed objects, snake_case names, a description
on every property (shown to the user as "(expected ...)"), no floats anywhere (amounts and rates are
decimal strings), dates as YYYY-MM-DD strings, references as integer sequence numbers >= 1 carrying
an ``x-ref`` annotation (the event types they may point to, ``*`` for any).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastjsonschema
import orjson
import pytest

from ledger.app import forms
from ledger.core.catalogue import schema, validate
from ledger.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "events" / "schemas"
EXAMPLES = orjson.loads((Path(__file__).parent / "data" / "catalogue_examples.json").read_bytes())

DECIMAL = "^-?(0|[1-9][0-9]*)(\\.[0-9]+)?$"
NON_NEGATIVE_DECIMAL = "^(0|[1-9][0-9]*)(\\.[0-9]+)?$"
DATE = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
ONE_LINE = "^[^\\n\\r]+$"

# Issue 4's catalogue (MetricSubmitted v1 predates it and covers it).
ISSUE_4_TYPES = {
    "LegalFormChanged",
    "AccreditationGranted",
    "AccreditationPresumed",
    "AccreditationWithdrawn",
    "StatuteArticleAdopted",
    "StatuteArticleRepealed",
    "AssemblyHeld",
    "ResolutionVoted",
    "BoardMeetingHeld",
    "BoardReviewRecorded",
    "DirectorAppointed",
    "DirectorLeft",
    "DirectorRemunerationDecided",
    "AccountsApproved",
    "ProfitAllocated",
    "ShareholderResigned",
    "MetricSubmitted",
    "NarrativeSubmitted",
    "SpecialReportAdopted",
    "EventCorrected",
    "EventRetracted",
}
# Released before the description rule; formats are forever, so they stay as they are.
FROZEN_WITHOUT_DESCRIPTIONS = {"LedgerOpened", "SignerEnrolled", "SignerRevoked", "MetricSubmitted"}

FILES = sorted(SCHEMAS.glob("*.v*.json"))
ALL_TYPES = {p.name.split(".")[0] for p in FILES}
HISTORY: list[dict[str, Any]] = EXAMPLES["history"]
OTHERS: list[dict[str, Any]] = EXAMPLES["others"]


def _file_id(path: Path) -> str:
    return path.name.removesuffix(".json")


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(path.read_bytes())
    return loaded


def _nodes(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema, with a readable location."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            if key in ("properties", "dependencies") and isinstance(value, dict):
                for name, sub in value.items():
                    yield from _nodes(sub, f"{where}.{name}")
            elif isinstance(value, dict):
                yield from _nodes(value, f"{where}/{key}")
            elif isinstance(value, list):
                for i, sub in enumerate(value):
                    yield from _nodes(sub, f"{where}/{key}[{i}]")


def _properties(
    node: dict[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every declared property, nested ones included, as (path, subschema)."""
    for name, sub in node.get("properties", {}).items():
        yield (*path, name), sub
        if sub.get("type") == "object":
            yield from _properties(sub, (*path, name))
        if isinstance(sub.get("items"), dict):
            yield (*path, name, "0"), sub["items"]


# --- structure -------------------------------------------------------------------------------


def test_issue_4_catalogue_is_complete() -> None:
    assert ISSUE_4_TYPES <= ALL_TYPES, ISSUE_4_TYPES - ALL_TYPES


@pytest.mark.parametrize("path", FILES, ids=_file_id)
def test_schema_compiles_and_follows_the_conventions(path: Path) -> None:
    doc = _load(path)
    event_type, version = path.name.removesuffix(".json").split(".v")
    fastjsonschema.compile(doc)
    assert schema(event_type, int(version)) == doc
    assert doc["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert doc["$id"] == f"https://coop-ledger.example/events/{event_type}.v{version}.json"
    assert doc["title"] == f"{event_type} v{version}"
    assert doc["description"].strip()
    assert doc["type"] == "object"
    assert doc["required"], "explicit required list"
    assert set(doc["required"]) <= set(doc["properties"])
    for where, node in _nodes(doc):
        assert node.get("type") != "number", f"{where}: no floats, use a decimal string"
        if node.get("type") == "object" and "properties" in node:
            assert node.get("additionalProperties") is False, f"{where}: closed object"
            assert set(node.get("required", [])) <= set(node["properties"]), where
            for name in node["properties"]:
                assert re.fullmatch("[a-z][a-z0-9_]*", name), f"{where}.{name}: snake_case"


@pytest.mark.parametrize(
    "path",
    [p for p in FILES if p.name.split(".")[0] not in FROZEN_WITHOUT_DESCRIPTIONS],
    ids=_file_id,
)
def test_every_property_says_what_is_expected(path: Path) -> None:
    for where, sub in _properties(_load(path)):
        assert isinstance(sub.get("description"), str) and sub["description"].strip(), where


@pytest.mark.parametrize("path", FILES, ids=_file_id)
def test_values_follow_the_representations(path: Path) -> None:
    for where, sub in _properties(_load(path)):
        pattern = sub.get("pattern", "")
        if "x-ref" in sub:
            targets = sub["x-ref"]
            assert sub["type"] == "integer" and sub["minimum"] == 1, where
            assert targets == ["*"] or (targets and set(targets) <= ALL_TYPES), (where, targets)
        if sub.get("type") == "integer":
            assert "minimum" in sub, f"{where}: integers are bounded below"
        if pattern in (DECIMAL, NON_NEGATIVE_DECIMAL):
            assert sub["type"] == "string" and sub.get("maxLength"), where
        if sub.get("type") == "string" and "pattern" not in sub and "enum" not in sub:
            assert sub.get("minLength", 0) >= 1 and sub.get("maxLength"), f"{where}: bounded text"
        if where[-1] in ("date", "since", "until", "repaid_on") or where[-1].endswith(
            ("_date", "_start", "_end", "_from", "_until")
        ):
            assert pattern == DATE, f"{where}: dates are YYYY-MM-DD strings"


def test_forms_know_the_schemas_date_and_decimal_patterns() -> None:
    # The record commands check a date for real, and a decimal kindly, only where a field's
    # pattern is exactly one of these: a schema pattern changed alone once let 2025-02-30
    # through to an envelope's effective date.
    assert forms.DATE_PATTERN == DATE
    assert {DECIMAL, NON_NEGATIVE_DECIMAL} == forms.DECIMAL_PATTERNS


def test_fastjsonschema_ignores_the_x_ref_annotation() -> None:
    check = fastjsonschema.compile(
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"a": {"type": "integer", "minimum": 1, "x-ref": ["NoSuchType"]}},
        }
    )
    assert check({"a": 5}) == {"a": 5}
    # The schema alone checks the shape of a reference; whether it points to an event of the
    # right type is the ledger's job.
    validate("ResolutionVoted", 1, {**_example("ResolutionVoted"), "assembly": 999_999})


# --- examples --------------------------------------------------------------------------------


def _example(event_type: str, having: str | None = None) -> dict[str, Any]:
    candidates = [e["payload"] for e in HISTORY + OTHERS if e["type"] == event_type]
    chosen = next((p for p in candidates if having in p), candidates[0])
    return copy.deepcopy(chosen)


def _refs(event_type: str, payload: dict[str, Any]) -> Iterator[tuple[str, int, list[str]]]:
    """Every reference a payload holds: (field, sequence number, allowed types)."""
    for path, sub in _properties(schema(event_type, 1)):
        if "x-ref" not in sub:
            continue
        values: list[Any] = [payload]
        for part in path:
            if part == "0":
                values = [item for value in values for item in value]
            else:
                values = [v[part] for v in values if isinstance(v, dict) and part in v]
        for target in values:
            yield ".".join(path), target, sub["x-ref"]


def test_examples_cover_the_catalogue() -> None:
    covered = {e["type"] for e in HISTORY + OTHERS}
    assert covered >= ISSUE_4_TYPES, ISSUE_4_TYPES - covered
    assert covered <= ALL_TYPES


@pytest.mark.parametrize(
    "entry",
    HISTORY + OTHERS,
    ids=[f"history-{e['seq']}-{e['type']}" for e in HISTORY]
    + [f"other-{i}-{e['type']}" for i, e in enumerate(OTHERS)],
)
def test_example_is_accepted(entry: dict[str, Any]) -> None:
    validate(entry["type"], 1, entry["payload"])
    assert re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", entry["effective"])


def test_example_references_point_to_earlier_events_of_the_right_type() -> None:
    types = {e["seq"]: e["type"] for e in HISTORY}
    assert [e["seq"] for e in HISTORY] == list(range(2, len(HISTORY) + 2))
    for entry in HISTORY + OTHERS:
        limit = entry.get("seq", len(HISTORY) + 2)
        for field, target, allowed in _refs(entry["type"], entry["payload"]):
            assert 2 <= target < limit, (entry["type"], field, target)
            assert allowed == ["*"] or types[target] in allowed, (entry["type"], field, target)


def test_example_corrections_are_valid_for_the_corrected_type() -> None:
    types = {e["seq"]: e["type"] for e in HISTORY}
    corrections = [e["payload"] for e in HISTORY + OTHERS if e["type"] == "EventCorrected"]
    assert corrections
    for payload in corrections:
        validate(types[payload["event"]], 1, payload["replacement"])


# --- rejections ------------------------------------------------------------------------------

WRONG_TYPE = {"string": 12, "integer": "12", "boolean": "true", "object": [], "array": {}}


def _mutations() -> Iterator[Any]:
    """(type, mutation id, field path or None, bad value or None) for every example type."""
    for event_type in sorted({e["type"] for e in HISTORY + OTHERS}):
        doc = schema(event_type, 1)
        for name in doc["required"]:
            yield pytest.param(
                event_type, "missing", (name,), None, id=f"{event_type}-missing-{name}"
            )
        yield pytest.param(event_type, "extra", ("unexpected",), 1, id=f"{event_type}-extra-field")
        for path, sub in _properties(doc):
            field = ".".join(path)
            bad: list[tuple[str, Any]] = []
            if path[-1] != "0":
                kind = sub.get("type", "enum")
                bad.append(("wrong-type", WRONG_TYPE.get(kind, 12)))
            pattern = sub.get("pattern", "")
            if "x-ref" in sub:
                bad += [("ref-zero", 0), ("ref-string", "12"), ("ref-negative", -3)]
            elif sub.get("type") == "integer" and sub.get("minimum") == 1900:
                bad.append(("year-out-of-range", 1850))
            elif sub.get("type") == "integer":
                bad += [("negative-count", -1), ("fractional-count", 1.5)]
            if pattern in (DECIMAL, NON_NEGATIVE_DECIMAL):
                bad += [
                    ("float-for-decimal", 6.0),
                    ("decimal-comma", "1,5"),
                    ("decimal-exponent", "1e3"),
                    ("decimal-thousands", "1.000,50"),
                ]
                if pattern == NON_NEGATIVE_DECIMAL:
                    bad.append(("negative-amount", "-1"))
            if pattern == DATE:
                bad += [
                    ("bad-date", "21/06/2022"),
                    ("bad-month", "2022-13-01"),
                    ("date-time", "2022-06-21T10:00:00"),
                ]
            if pattern == ONE_LINE:
                bad.append(("two-lines", "une ligne\nune autre"))
            if "enum" in sub:
                bad.append(("out-of-enum", "bogus"))
            if sub.get("type") == "string":
                bad.append(("empty", ""))
            if "maxLength" in sub:
                bad.append(("too-long", "x" * (sub["maxLength"] + 1)))
            for mutation, value in bad:
                yield pytest.param(
                    event_type, mutation, path, value, id=f"{event_type}-{mutation}-{field}"
                )


def _apply(payload: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target: Any = payload
    for part in path[:-1]:
        if isinstance(target, dict) and part not in target:
            target[part] = {}
        target = target[part]
    last = path[-1]
    if last == "0":  # an array item: the array must exist and hold one element
        target[:] = [value]
        return
    target[last] = value


@pytest.mark.parametrize(("event_type", "mutation", "path", "value"), list(_mutations()))
def test_bad_field_is_rejected(
    event_type: str, mutation: str, path: tuple[str, ...], value: Any
) -> None:
    top = path[0]
    payload = _example(event_type, having=top)
    if mutation == "missing":
        del payload[top]
    elif path[-1] == "0":
        payload.setdefault(top, [1])
        _apply(payload, path, value)
    else:
        _apply(payload, path, value)
    with pytest.raises(InputError) as raised:
        validate(event_type, 1, payload)
    error = raised.value
    if mutation == "missing":
        assert error.field == "payload" and f"'{top}'" in str(error)
    elif mutation == "extra":
        assert error.field == "payload" and "unexpected" in str(error)
    else:
        assert error.field == ".".join(path), str(error)
        description = _subschema(event_type, path).get("description")
        if description:
            assert f"(expected {description})" in str(error)


def _subschema(event_type: str, path: tuple[str, ...]) -> dict[str, Any]:
    return dict(_properties(schema(event_type, 1)))[path]


# --- docs/EVENTS.md field tables -------------------------------------------------------------
# Regenerate them with: uv run python tests/test_schemas.py

EVENTS_DOC = ROOT / "docs" / "EVENTS.md"
TABLE = re.compile(r"(<!-- fields:(\w+) -->\n)(.*?)(<!-- /fields:\2 -->)", re.DOTALL)


def _shape(sub: dict[str, Any]) -> str:
    if "x-ref" in sub:
        return "ref → " + (" or ".join(sub["x-ref"]) if sub["x-ref"] != ["*"] else "any type")
    if "enum" in sub:
        return "one of " + ", ".join(f"`{v}`" for v in sub["enum"])
    kind = sub.get("type")
    pattern = sub.get("pattern", "")
    if kind == "array":
        return "list of " + _shape(sub["items"]).replace("ref", "refs", 1)
    if kind == "integer":
        low, high = sub.get("minimum"), sub.get("maximum")
        return f"integer {low}..{high}" if high is not None else f"integer ≥ {low}"
    if pattern == NON_NEGATIVE_DECIMAL:
        return "decimal string ≥ 0"
    if pattern == DECIMAL:
        return "decimal string"
    if pattern == DATE:
        return "date"
    if pattern == ONE_LINE:
        return f"one line, ≤ {sub['maxLength']}"
    if pattern:
        return "string `" + pattern.replace("|", "\\|") + "`"
    if kind == "string":
        return f"text, ≤ {sub['maxLength']}"
    return str(kind)


def field_table(event_type: str) -> str:
    doc = schema(event_type, 1)
    rows = ["| field | type | required | expected |", "|---|---|---|---|"]
    for path, sub in _properties(doc):
        if path[-1] == "0":
            continue
        parent = dict(_properties(doc)).get(path[:-1], doc) if len(path) > 1 else doc
        required = "yes" if path[-1] in parent.get("required", []) else ""
        rows.append(
            f"| `{'.'.join(path)}` | {_shape(sub)} | {required} | {sub.get('description', '')} |"
        )
    return "\n".join(rows) + "\n"


def current_events_doc() -> str:
    return TABLE.sub(
        lambda m: m.group(1) + field_table(m.group(2)) + m.group(4), EVENTS_DOC.read_text()
    )


def test_events_doc_tables_are_current() -> None:
    text = EVENTS_DOC.read_text()
    documented = {m.group(2) for m in TABLE.finditer(text)}
    assert documented >= ISSUE_4_TYPES, ISSUE_4_TYPES - documented
    assert text == current_events_doc(), (
        "docs/EVENTS.md is stale: uv run python tests/test_schemas.py"
    )


if __name__ == "__main__":
    EVENTS_DOC.write_text(current_events_doc())


def test_every_schema_file_has_its_row_in_the_table_of_event_types() -> None:
    from ledger.core import catalogue, semantics

    files = {p.name for p in SCHEMAS.glob("*.json")}
    rows = {
        f"{t.name}.v{v}.json" for t in catalogue.EVENT_TYPES for v in catalogue.versions(t.name)
    }
    assert files == rows
    for t in catalogue.EVENT_TYPES:
        assert t.kind in catalogue.KINDS
        assert t.schema == max(catalogue.versions(t.name)), t.name
        assert t.roles <= set(catalogue.ROLES), t.name
        for name in t.facts:
            assert name in schema(t.name, t.schema)["properties"], (t.name, name)
        if t.effective is not None:
            how, name = t.effective
            assert (
                how in ("field", "year", "ref") and name in schema(t.name, t.schema)["properties"]
            )
    # The one-line pattern the rules look for is the schemas' own.
    assert semantics.ONE_LINE_PATTERN == ONE_LINE
