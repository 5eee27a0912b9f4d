"""The secretary's forms: how each event type is filled in from the command line, a minutes file
or a figures CSV. One table says, per type, the subcommand's name and the option names that differ
from the schema's field names; everything else (option types, help, required) comes from the
schema itself, so the CLI cannot drift from the catalogue.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.core import canonical, catalogue, rulebook, values
from ledger.core.draft import Draft
from ledger.errors import InputError

DECIMAL_PATTERNS = frozenset({"^-?(0|[1-9][0-9]*)(\\.[0-9]+)?$", "^(0|[1-9][0-9]*)(\\.[0-9]+)?$"})
# The schemas' date pattern (tests/test_schemas.py holds them to it): fields with it are checked
# as real dates, which a pattern cannot say.
DATE_PATTERN = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


@dataclass(frozen=True, slots=True)
class Form:
    """How one event type is recorded: ``ledger record <command> …``."""

    command: str
    type: str
    help: str
    options: Mapping[str, str] = field(default_factory=dict)  # field → option name
    files: Mapping[str, str] = field(default_factory=dict)  # field → option reading a file
    # Help for fields whose (frozen) schema has no description.
    hints: Mapping[str, str] = field(default_factory=dict)
    # Fields that are a number of percent: 7, 7% and 7 % all mean 7 % (values.percent).
    percents: frozenset[str] = frozenset()
    # Fields written in upper case, whatever case they are typed in (condition ids).
    upper: frozenset[str] = frozenset()


FORMS = (
    Form(
        "metric",
        "MetricSubmitted",
        "Record a figure for a year.",
        hints={
            "year": "the financial year the figure is about",
            "qualifier": "= exactly, > more than, < less than, ~ about (absent: exactly)",
            "period": "annual, cumulative, monthly or point (a point in time)",
            "scope": "what the figure covers, e.g. entreprise partagée",
            "label_fr": "the figure's label in French, as the report words it",
            "label_nl": "the figure's label in Dutch",
            "source": "where the figure comes from, e.g. rapport spécial 2025",
        },
    ),
    Form(
        "narrative",
        "NarrativeSubmitted",
        "Record a section of the year's narrative.",
        files={"text": "--text-file"},
    ),
    Form(
        "legal-form",
        "LegalFormChanged",
        "Record a change of legal form.",
        options={"from": "--from", "to": "--to"},
    ),
    Form("accreditation", "AccreditationGranted", "Record an accreditation granted."),
    Form(
        "accreditation-presumed",
        "AccreditationPresumed",
        "Record an accreditation presumed by law (former finalité sociale).",
    ),
    Form("accreditation-withdrawn", "AccreditationWithdrawn", "Record an accreditation withdrawn."),
    Form(
        "article",
        "StatuteArticleAdopted",
        "Record a statute article adopted (initial statutes or amendment).",
        options={"title_fr": "--title"},
        files={"text_fr": "--text-file", "text_nl": "--text-nl-file", "text_de": "--text-de-file"},
        hints={
            "provides": "an accreditation condition the article provides for, a condition id "
            "of the compliance rules, e.g. SE4 (any case)"
        },
        upper=frozenset({"provides"}),
    ),
    Form("article-repeal", "StatuteArticleRepealed", "Record a statute article repealed."),
    Form(
        "assembly",
        "AssemblyHeld",
        "Record a general assembly held.",
        options={"shareholders_present": "--present", "shareholders_represented": "--represented"},
    ),
    Form(
        "resolution",
        "ResolutionVoted",
        "Record a resolution voted by an assembly.",
        options={
            "votes_for": "--for",
            "votes_against": "--against",
            "votes_abstaining": "--abstaining",
            "max_votes_single_shareholder": "--max-single",
            "majority_required": "--majority",
        },
    ),
    Form("board-meeting", "BoardMeetingHeld", "Record a board meeting held."),
    Form(
        "board-review",
        "BoardReviewRecorded",
        "Record the board's review of one accreditation condition.",
        hints={"condition": "a condition id of the compliance rules, e.g. SE7 or CO3 (any case)"},
        upper=frozenset({"condition"}),
    ),
    Form("director", "DirectorAppointed", "Record a director appointed."),
    Form("director-left", "DirectorLeft", "Record a director leaving."),
    Form(
        "director-pay",
        "DirectorRemunerationDecided",
        "Record the assembly's decision on a director's pay.",
    ),
    Form("accounts", "AccountsApproved", "Record the annual accounts approved."),
    Form(
        "profit-allocation",
        "ProfitAllocated",
        "Record the allocation of a year's result.",
        hints={
            "dividend_rate": "the dividend as a percent of the shares' nominal value: 6 or 6% "
            "means 6 %, 0 for none"
        },
        percents=frozenset({"dividend_rate"}),
    ),
    Form(
        "member",
        "MemberAdmitted",
        "Record a member admitted and entered in the share register (member number; the name "
        "only as personal data, erasable with: ledger redact).",
    ),
    Form(
        "membership-refused",
        "MembershipRefused",
        "Record an application for membership refused, with the reason and the article of the "
        "statutes that sets the ground (open membership, CO1).",
    ),
    Form("shares", "SharesSubscribed", "Record further shares subscribed by a member."),
    Form(
        "share-transfer",
        "SharesTransferred",
        "Record shares transferred from one member to another.",
        options={"from_member": "--from", "to_member": "--to"},
    ),
    Form(
        "resignation",
        "ShareholderResigned",
        "Record a shareholder's resignation and repayment (member number; the name only as "
        "personal data, erasable with: ledger redact).",
    ),
)
BY_COMMAND = {f.command: f for f in FORMS}
PERCENTS = frozenset((f.type, name) for f in FORMS for name in f.percents)


def option_name(form: Form, name: str) -> str:
    return form.files.get(name) or form.options.get(name) or "--" + name.replace("_", "-")


def properties(form: Form) -> dict[str, dict[str, Any]]:
    """The fields a form asks for, as the current schema version has them; a personal field
    as its clear value (it is committed to when appended: ledger.personal)."""
    props: dict[str, dict[str, Any]] = catalogue.schema(form.type, _version(form))["properties"]
    return {name: spec.get("x-personal", spec) for name, spec in props.items()}


def required(form: Form) -> set[str]:
    return set(catalogue.schema(form.type, _version(form)).get("required", []))


def _version(form: Form) -> int:
    return catalogue.CURRENT_SCHEMA[form.type]


def coerce(form: Form, name: str, value: Any, *, where: str | None = None) -> Any:
    """A value as typed (option, CSV cell, TOML value) turned into its payload form, with the
    friendly checks first (a decimal comma, a date that does not exist)."""
    label = where or option_name(form, name)
    if name in form.percents and isinstance(value, str):
        return values.percent(label, value)
    if name in form.upper:
        value = _upper(value)
    return _coerce(properties(form)[name], value, label)


def _upper(value: Any) -> Any:
    """Text, or a list of texts, in upper case (what else is given is left for the schema)."""
    if isinstance(value, str):
        return value.strip().upper()
    if isinstance(value, list):
        return [_upper(v) for v in value]
    return value


def _coerce(spec: Mapping[str, Any], value: Any, label: str) -> Any:
    # What the schemas cannot refuse but canonical bytes cannot hold (integers beyond
    # ±(2**53-1); lone surrogates, which undecodable command-line bytes become) would pass
    # validation and fail only when the event is encoded, as an internal error.
    if type(value) is int and abs(value) > canonical.MAX_SAFE_INTEGER:
        raise InputError(label, f"{value} is outside ±(2**53-1), the integers a ledger holds")
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(label, f"{value!r} is not text (bytes that are not UTF-8?)") from None
    if spec.get("type") == "string" and isinstance(value, str):
        pattern = spec.get("pattern")
        if pattern in DECIMAL_PATTERNS:
            return values.decimal(label, value)
        if pattern == DATE_PATTERN:
            return values.iso_date(label, value)
    return value


def corrected(
    event_type: str, payload: Mapping[str, Any], assignments: list[str]
) -> dict[str, Any]:
    """``payload`` with ``FIELD=VALUE`` assignments applied, each value read as its field's
    schema type says (integers, ``true``/``false``, JSON arrays, text as is)."""
    props = catalogue.schema(event_type, 1)["properties"]
    replacement = dict(payload)
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        if not sep or name not in props:
            raise InputError(
                "replacement",
                f"{assignment!r}: expected FIELD=VALUE with FIELD one of {', '.join(props)}",
            )
        spec, label = props[name], f"replacement.{name}"
        kind = spec.get("type")
        try:
            if kind == "integer":
                replacement[name] = _coerce(spec, int(text), label)
            elif kind == "boolean":
                replacement[name] = {"true": True, "false": False}[text]
            elif kind == "array":
                replacement[name] = json.loads(text)
                canonical.encode(replacement[name])  # floats, lone surrogates: not in a ledger
            elif (event_type, name) in PERCENTS:
                replacement[name] = values.percent(label, text)
            else:
                replacement[name] = _coerce(spec, text, label)
        except (ValueError, KeyError, RecursionError):
            raise InputError(label, f"{text!r} is not a {kind}") from None
    if replacement == dict(payload):
        raise InputError("replacement", "nothing changes; a correction must change something")
    return replacement


def draft(form: Form, given: Mapping[str, Any], effective: str | None, base: Path) -> Draft:
    """The draft of one event from field values (``None`` or absent: not given). Fields read
    from files (``files``) are given as paths, relative to ``base``."""
    payload: dict[str, Any] = {}
    for name, value in given.items():
        if value is None or value == []:
            continue
        if name in form.files:
            payload[name] = read_text(base / Path(value), option_name(form, name))
        else:
            payload[name] = coerce(form, name, value)
    if effective is not None:
        effective = values.iso_date("--effective", effective)
    return Draft(form.type, payload, effective)


MAX_TEXT_FILE = 16 * 1024 * 1024  # far above any field's maxLength; /dev/zero is not


def read_text(path: Path, label: str) -> str:
    """A text file exactly as written (UTF-8; nothing stripped or normalised), at most
    ``MAX_TEXT_FILE`` bytes."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_TEXT_FILE + 1)
        if len(data) > MAX_TEXT_FILE:
            raise InputError(label, f"{path} is larger than {MAX_TEXT_FILE} bytes")
        return data.decode("utf-8")
    except OSError as e:
        raise InputError(label, f"cannot read {path}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise InputError(label, f"{path} is not UTF-8 text ({e.reason} at byte {e.start})") from e
    except ValueError as e:  # a NUL in a path written in a minutes file
        raise InputError(label, f"cannot read {str(path)!r}: {e}") from e


# --- figures in bulk ------------------------------------------------------------------------------

CSV_COLUMNS = (
    "name",
    "value",
    "unit",
    "qualifier",
    "period",
    "scope",
    "label_fr",
    "label_nl",
    "source",
)


def metrics_csv(text: str, year: int, source: str) -> list[Draft]:
    """Figures of one year from CSV text (header ``name,value,unit`` then any of the optional
    columns of ``CSV_COLUMNS``). A bad row raises ``InputError`` naming its line.

    Also as a spreadsheet set to Belgian (or French, Dutch…) conventions saves it: a UTF-8 byte
    order mark, ``;`` between cells (then ``,`` is the decimal mark in ``value``)."""
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    semicolons = ";" in first and "," not in first
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=";" if semicolons else ",")
    try:
        return _metrics(reader, year, source, decimal_comma=semicolons)
    except csv.Error as e:  # e.g. a cell over the csv module's field size limit
        raise InputError(f"{source} line {reader.reader.line_num}", f"not CSV: {e}") from None


_COMMA_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*),[0-9]+\Z")
_GROUPED = re.compile(r"-?[0-9]{1,3}([. \u00a0\u202f][0-9]{3})+(,[0-9]+)?\Z")


def _comma_value(cell: str, where: str) -> str:
    """A ``value`` cell of a ``;`` CSV, where ``,`` is the decimal mark: ``0,06`` is 0.06."""
    value = cell.strip()
    if _COMMA_DECIMAL.match(value):
        return value.replace(",", ".")
    if _GROUPED.match(value):
        plain = re.sub(r"[. \u00a0\u202f]", "", value).replace(",", ".")
        raise InputError(
            where, f"{cell!r} groups its digits (thousands separators); write {plain!r}"
        )
    return cell


def _metrics(
    reader: csv.DictReader[str], year: int, source: str, *, decimal_comma: bool = False
) -> list[Draft]:
    form = BY_COMMAND["metric"]
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in CSV_COLUMNS]
    missing = [c for c in ("name", "value", "unit") if c not in header]
    if unknown or missing:
        raise InputError(
            source,
            f"line 1: columns must be name,value,unit then any of "
            f"{','.join(CSV_COLUMNS[3:])} (unknown {unknown}, missing {missing})",
        )
    # DictReader keeps only the last cell of a repeated column: the other would be dropped
    # without a word, and which of two values is the figure only the author knows.
    repeated = [c for c in dict.fromkeys(header) if header.count(c) > 1]
    if repeated:
        plural = "s" if len(repeated) > 1 else ""
        raise InputError(
            source,
            f"line 1: duplicated column{plural} {','.join(repeated)}; each column may appear "
            "only once: delete the repeats",
        )
    drafts = []
    for row in reader:
        where = f"{source} line {reader.line_num}"
        if None in row or any(v is None for v in row.values()):
            raise InputError(where, "the row does not have as many cells as the header")
        payload: dict[str, Any] = {"year": values.year("--year", year)}
        for column, cell in row.items():
            label = f"{where}, column {column}"
            if decimal_comma and column == "value":
                cell = _comma_value(cell, label)
            if cell != "":
                payload[column] = coerce(form, column, cell, where=label)
        try:
            rulebook.validate(form.type, _version(form), payload)
        except InputError as e:
            raise InputError(f"{where}, column {e.field}", e.message) from None
        drafts.append(Draft(form.type, payload, None, where=f"{where}, column"))
    if not drafts:
        raise InputError(source, "no figures after the header line")
    return drafts


# --- minutes --------------------------------------------------------------------------------------

_CHILDREN = {"article": "article", "repeal": "article-repeal", "legal_form": "legal-form"}
# tomllib takes time quadratic in the parts of one dotted key (a.b.c… or [a.b.c…]): a 200 kB
# key would take minutes. Minutes need two parts. The atomic group and the look-behind keep
# this search linear.
MAX_KEY_PARTS = 64
_DOTTED_KEY = re.compile(
    r"(?<![A-Za-z0-9_-])(?:(?>[A-Za-z0-9_-]+|\"[^\"\n]*\"|'[^'\n]*')[ \t]*\.[ \t]*)"
    f"{{{MAX_KEY_PARTS}}}"
)


def minutes_toml(text: str, source: str, base: Path) -> list[Draft]:
    """An assembly with its resolutions and what each adopted, from a minutes file.

    The drafts come in order (assembly, then each resolution followed by its articles, repeals
    and legal-form change); their references to each other are *relative*: the ledger fills in
    sequence numbers when it appends them (``Draft.links``).
    """
    if _DOTTED_KEY.search(text):
        raise InputError(source, f"a key has more than {MAX_KEY_PARTS} dotted parts")
    try:
        doc = tomllib.loads(text)
    except ValueError as e:  # TOMLDecodeError, or an integer of more than 4300 digits
        raise InputError(source, f"not TOML: {e}") from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise InputError(source, "not TOML: arrays or tables nested too deeply") from None
    unknown = set(doc) - {"assembly", "resolution"}
    if (
        unknown
        or not isinstance(doc.get("assembly"), dict)
        or not isinstance(doc.get("resolution", []), list)
    ):
        raise InputError(
            source,
            "expected an [assembly] table and [[resolution]] tables "
            f"(unknown keys {sorted(unknown)})",
        )
    drafts = [_table_draft("assembly", doc["assembly"], f"{source} [assembly]", base, {})]
    for i, resolution in enumerate(doc.get("resolution", []), start=1):
        where = f"{source} [[resolution]] #{i}"
        if not isinstance(resolution, dict):
            raise InputError(where, "must be a table")
        children = {k: resolution.pop(k) for k in list(resolution) if k in _CHILDREN}
        resolution_at = len(drafts)
        drafts.append(_table_draft("resolution", resolution, where, base, {"assembly": 0}))
        for key, tables in children.items():
            for j, table in enumerate(tables if isinstance(tables, list) else [tables], start=1):
                drafts.append(
                    _table_draft(
                        _CHILDREN[key],
                        table,
                        f"{where} {key} #{j}",
                        base,
                        {"resolution": resolution_at},
                    )
                )
    return drafts


def _table_draft(command: str, table: Any, where: str, base: Path, links: dict[str, int]) -> Draft:
    form = BY_COMMAND[command]
    if not isinstance(table, dict):
        raise InputError(where, "must be a table")
    props = properties(form)
    given: dict[str, Any] = {}
    effective = table.pop("effective", None)
    for key, value in table.items():
        name = key.removesuffix("_file") if key.endswith("_file") else key
        if name not in props or name in links:
            raise InputError(
                f"{where} {key}",
                f"no such field; expected one of {', '.join(sorted(set(props) - set(links)))}",
            )
        if key.endswith("_file"):
            label = f"{where} {key}"
            given[name] = read_text(_minutes_file(base, str(value), label), label)
        else:
            given[name] = coerce(form, name, value, where=f"{where} {key}")
    if effective is not None:
        effective = values.iso_date(f"{where} effective", str(effective))
    try:  # here, where the error can still name its table
        rulebook.validate(form.type, _version(form), {**given, **dict.fromkeys(links, 1)})
    except InputError as e:
        raise InputError(f"{where} {e.field}", e.message) from None
    return Draft(form.type, given, effective, links, where=where)


_MINUTES_FILES = (
    "a minutes file may name only files in its own folder or below, by a relative path without '..'"
)


def _minutes_file(base: Path, value: str, label: str) -> Path:
    """The file a ``*_file`` key of a minutes file in ``base`` names, refused unless it lies in
    ``base`` or below once symlinks are followed. Whoever wrote the minutes need not be whoever
    records them, and what is read is signed into the ledger for good: ``/etc/passwd`` or
    ``../../.ssh/id_ed25519`` must not get in. (A path typed on the command line is the
    user's own choice: ``draft`` reads it as given.)"""
    path = Path(value)
    if path.is_absolute():
        raise InputError(label, f"{value!r} is an absolute path; {_MINUTES_FILES}")
    # Refused even when it would land inside: a rule the writer can follow without working out
    # what '..' after a symlinked folder means.
    if ".." in path.parts:
        raise InputError(label, f"{value!r} has a '..' part; {_MINUTES_FILES}")
    try:
        folder, target = base.resolve(), (base / path).resolve()
    except (OSError, RuntimeError, ValueError) as e:  # a symlink loop, a NUL in the path
        raise InputError(label, f"cannot read {str(base / path)!r}: {e}") from None
    if not target.is_relative_to(folder):
        raise InputError(label, f"{value!r} leads to {target}, outside {folder}; {_MINUTES_FILES}")
    # Read the path checked, not the one written, so that a symlink changed after the check is
    # not followed (short of one put in place of a folder on the checked path).
    return target
