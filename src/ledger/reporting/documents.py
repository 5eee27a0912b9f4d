"""Reports as files: render the report model (``reporting.model``) to Markdown, HTML or PDF,
check a report file against the ledger, compare a year's report between two instants, adopt one.

Same ledger prefix and arguments, same bytes: the templates are data, the PDF's date is the
data's, typst uses only its embedded fonts. Each file carries a marker (the arguments and the
checkpoint it rests on) so ``verify`` can recompute it.
"""

from __future__ import annotations

import base64
import difflib
import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jinja2
import orjson
import typst

from ledger.chain.ledger import Ledger
from ledger.chain.verify import require_intact, verify_ledger
from ledger.core import canonical, conditions
from ledger.core.draft import Draft
from ledger.core.envelope import Entry
from ledger.core.keys import SigningKey
from ledger.errors import InputError, IntegrityError
from ledger.projections.projected import world
from ledger.projections.projection import check_year
from ledger.reporting import model
from ledger.resources import data_dir

FORMATS = ("md", "html", "pdf")
_MARKER = re.compile(rb"<!-- (\{\"as_known_at\".*?\}) -->|^// (\{\"as_known_at\".*?\})$", re.M)


def _typ(value: object) -> str:
    """A typst string literal."""
    text = str(value)
    for a, b in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        text = text.replace(a, b)
    return f'"{text}"'


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


@functools.cache
def _environment(fmt: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(data_dir("projections") / "report"),
        autoescape=fmt == "html",
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        typ=_typ, cell=_cell, oneline=lambda v: " ".join(str(v).split()), data_uri=_data_uri
    )
    return env


def _moment(provenance: model.Provenance) -> datetime:
    return datetime.fromisoformat(provenance.as_known_at or provenance.last_recorded_at)


def render(content: dict[str, Any], fmt: str, provenance: model.Provenance) -> bytes:
    """The report file's bytes."""
    marker = canonical.encode(provenance.marker(content["year"], content["lang"], fmt)).decode()
    template = "report.typ.j2" if fmt == "pdf" else f"report.{fmt}.j2"
    moment = _moment(provenance)
    m = content["m"]
    # The footer and the PDF's title say whose report on which year, and how many events it
    # rests on; the ledger's id is in the marker, for machines.
    footer = str(m["footer"]).format(enterprise=content["enterprise"], number=content["number"],
                                     year=content["year"], size=provenance.size)  # fmt: skip
    pdf_title = f"{content['title']} — {content['enterprise']} — {content['year']}"
    text = (
        _environment(fmt)
        .get_template(template)
        .render(**content, marker=marker, date=moment.date(), footer=footer, pdf_title=pdf_title)
    )
    if fmt != "pdf":
        return text.encode()
    return typst.compile(
        text.encode(),
        format="pdf",
        pdf_standards=["a-2b"],
        ignore_system_fonts=True,
        timestamp=int(moment.timestamp()),
    )


@dataclass(frozen=True, slots=True)
class Produced:
    data: bytes
    provenance: model.Provenance
    model: dict[str, Any]


def produce(
    ledger: Ledger,
    year: int,
    lang: str = "fr",
    fmt: str = "md",
    as_known_at: str | None = None,
    upto: int | None = None,
    *,
    verified: bool = False,
) -> Produced:
    """The report of ``year`` as known at ``as_known_at`` (None: now), or on the first ``upto``
    events (what ``verify`` replays). The whole ledger is verified first, unless the caller
    just did (``verified``): a report never rests on a store that does not verify. Raises
    ``IntegrityError`` when it does not."""
    if fmt not in FORMATS:
        raise InputError("format", f"{fmt!r}; expected one of {', '.join(FORMATS)}")
    conditions.language("lang", lang)
    if not verified:
        require_intact(verify_ledger(ledger.store, ledger.id))
    folded = world(ledger, as_known_at, upto=upto, start=model.new_world(), verified=True)
    check_year(folded, year)
    provenance = model.Provenance(
        ledger=str(ledger.id),
        size=folded.size,
        root=ledger.tree().root(folded.size).hex(),
        as_known_at=as_known_at,
        last_recorded_at=folded.last_recorded_at or as_known_at or "",
    )
    content = model.build(folded, year, lang, provenance)
    return Produced(render(content, fmt, provenance), provenance, content)


def marker_of(data: bytes) -> dict[str, Any]:
    """The marker a report file carries; ``InputError`` when there is none."""
    if data.startswith(b"%PDF"):
        import io

        from pypdf import PdfReader  # only needed for PDFs, and slow to import

        try:
            keywords = PdfReader(io.BytesIO(data)).metadata.get("/Keywords", "")  # type: ignore[union-attr]
        except Exception as e:  # pypdf raises many kinds on a damaged file
            raise InputError("report", f"not a readable PDF ({e})") from None
        found: bytes | None = str(keywords).encode()
    else:
        m = _MARKER.search(data)
        found = (m.group(1) or m.group(2)) if m else None
    try:
        marker: dict[str, Any] = orjson.loads(found or b"")
    except orjson.JSONDecodeError:
        raise InputError("report", "not a coop-ledger report: no report marker found") from None
    if marker.get("format") != model.FORMAT:
        raise InputError("report", f"unknown report format {marker.get('format')!r}")
    return marker


def verify(ledger: Ledger, data: bytes) -> Produced:
    """Recompute a report file from the ledger, which must verify; raises ``IntegrityError``
    unless it does and the file is identical."""
    marker = marker_of(data)
    require_intact(verify_ledger(ledger.store, ledger.id))
    if marker["ledger"] != str(ledger.id):
        raise InputError("report", f"the report is of ledger {marker['ledger']}, not {ledger.id}")
    if marker["size"] > ledger.size():
        raise IntegrityError(
            ledger.size() + 1,
            "truncated",
            f"the report rests on {marker['size']} events; the ledger has {ledger.size()}",
        )
    again = produce(
        ledger,
        marker["year"],
        marker["lang"],
        marker["output"],
        marker["as_known_at"],
        upto=marker["size"],
        verified=True,
    )
    if again.provenance.root != marker["root"]:
        raise IntegrityError(
            marker["size"],
            "checkpoint-mismatch",
            f"the ledger's first {marker['size']} events no longer hash to the report's root",
        )
    if again.data != data:
        at = next(
            (i for i, (a, b) in enumerate(zip(data, again.data, strict=False)) if a != b),
            min(len(data), len(again.data)),
        )
        raise IntegrityError(
            marker["size"],
            "report-mismatch",
            f"the file differs from the report recomputed from the ledger from byte {at} on",
        )
    return again


def _sections(markdown: bytes) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = "-"
    for line in markdown.decode().splitlines():
        if line.startswith("## "):
            current = line[3:]
        sections.setdefault(current, []).append(line)
    return sections


def diff(ledger: Ledger, year: int, since: str, until: str | None, lang: str = "fr") -> str:
    """What changed in ``year``'s report between two instants, section by section."""
    require_intact(verify_ledger(ledger.store, ledger.id))
    before = _sections(produce(ledger, year, lang, "md", since, verified=True).data)
    after = _sections(produce(ledger, year, lang, "md", until, verified=True).data)
    out = []
    for name in list(dict.fromkeys([*before, *after])):
        if name in ("-", model.messages(lang)["provenance"]):
            continue
        lines = list(
            difflib.unified_diff(
                before.get(name, []),
                after.get(name, []),
                fromfile=f"{name} @ {since}",
                tofile=f"{name} @ {until or 'now'}",
                lineterm="",
                n=0,
            )
        )
        if lines:
            out.append("\n".join(lines))
    return "\n\n".join(out)


def adopt(
    ledger: Ledger, year: int, meeting: int, key: SigningKey, lang: str = "fr"
) -> tuple[Entry, Produced]:
    """Record SpecialReportAdopted for the PDF of ``year`` as known now."""
    produced = produce(ledger, year, lang, "pdf")
    p = produced.provenance
    payload = {
        "year": year,
        "meeting": meeting,
        "document_sha256": hashlib.sha256(produced.data).hexdigest(),
        "language": lang,
        "document_format": "pdf",
        "checkpoint": {"size": p.size, "root": p.root},
    }
    [entry] = ledger.append(key, [Draft("SpecialReportAdopted", payload)])
    return entry, produced
