"""Bad input never escapes as anything but the parser's own error (docs/RELIABILITY.md).

Every parser that reads bytes or text from outside gets random and hostile input and must
either succeed or raise its module's error type: no other exception, no hang, no unbounded
memory. Where a parser succeeds, what it returns must re-encode to the very input (they all
accept one spelling only), so "success" cannot hide a wrong parse either.
"""

from __future__ import annotations

import atexit
import base64
import io
import json
import shutil
import signal
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger.app import forms
from ledger.chain import bundle
from ledger.core import canonical, envelope, signers, values
from ledger.errors import InputError
from ledger.tlog import note

FUZZ = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
MiB = 1024 * 1024
SECONDS = 10  # per call; the slowest hostile case takes well under one on a slow machine
MEMORY = 64 * MiB  # per call, as Python allocations (tracemalloc)


class Hang(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` can swallow it."""


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail with ``Hang`` once the block has used ``seconds`` of this process's CPU time: a
    parser that loops or blows up works the CPU, and a busy machine, which stretches the wall
    clock, does not move this bound."""

    def alarm(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"still running after {seconds} s of CPU time")

    previous = signal.signal(signal.SIGPROF, alarm)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def attempt(parse: Callable[[Any], Any], data: Any, error: type[Exception]) -> Any:
    """``parse(data)``, or None when it raised ``error``; anything else fails the test."""
    with within(SECONDS):
        try:
            return parse(data)
        except error:
            return None


# --- the parsers, each with its error type and what a success must satisfy --------------------


def decode(data: bytes) -> None:
    value = attempt(canonical.decode, data, canonical.CanonicalError)
    if value is not None:
        assert canonical.encode(value) == data


def parse_entry(data: bytes) -> None:
    entry = attempt(envelope.parse_entry, data, envelope.EntryError)
    if entry is not None:
        assert envelope.entry_bytes(entry.envelope, entry.signature) == data
        assert entry.envelope_bytes == entry.envelope.to_bytes()


LOG = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
WITNESS = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
VERIFIERS = [
    note.VerifierKey.from_public_key("log.example", LOG.public_key()),
    note.VerifierKey.from_public_key(
        "witness.example", WITNESS.public_key(), note.KeyKind.COSIGNATURE_V1
    ),
]


def parse_note(data: bytes) -> None:
    parsed = attempt(note.parse_note, data, note.NoteError)
    if parsed is None:
        return
    assert parsed.to_bytes() == data
    attempt(note.parse_checkpoint, parsed.text, note.NoteError)
    attempt(lambda n: note.verify_note(n, VERIFIERS, now=2**40), parsed, note.NoteError)
    for signature in parsed.signatures:
        attempt(note.cosignature_timestamp, signature, note.NoteError)


def parse_checkpoint(data: bytes) -> None:
    checkpoint = attempt(note.parse_checkpoint, data, note.NoteError)
    if checkpoint is not None:
        assert checkpoint.body() == data


def parse_verifier_key(text: str) -> None:
    key = attempt(note.parse_verifier_key, text, note.NoteError)
    if key is not None:  # the key id may come in either case, and is written in lower case
        name, key_id, data = text.split("+", 2)
        assert key.encode() == f"{name}+{key_id.lower()}+{data}"


def parse_signer_key(text: str) -> None:
    key = attempt(note.parse_signer_key, text, note.NoteError)
    if key is not None:
        private, k, name, key_id, data = text.split("+", 4)
        assert key.encode() == f"{private}+{k}+{name}+{key_id.lower()}+{data}"


def read_bundle(data: bytes) -> None:
    f = io.BytesIO(data)
    header = attempt(bundle.read_header, f, InputError)
    if header is None:
        return
    rows = attempt(lambda g: list(bundle.rows(g)), f, InputError)
    if rows is not None:
        body = data.split(b"\n", 1)[1] if b"\n" in data else b""
        assert [r.entry for r in rows] == body.split(b"\n")[: len(rows)]
        assert [r.seq for r in rows] == list(range(1, len(rows) + 1))


def metrics_csv(text: str) -> None:
    drafts = attempt(lambda t: forms.metrics_csv(t, 2025, "f.csv"), text, InputError)
    if drafts is not None:
        for d in drafts:  # what the CLI appends next must be encodable
            canonical.encode(d.payload)


EMPTY = Path(tempfile.mkdtemp(prefix="ledger-fuzz-"))  # files named in minutes: none exist
atexit.register(shutil.rmtree, EMPTY, True)


def minutes_toml(text: str) -> None:
    drafts = attempt(lambda t: forms.minutes_toml(t, "m.toml", EMPTY), text, InputError)
    if drafts is not None:
        for d in drafts:
            canonical.encode(d.payload)


def value_parsers(text: str) -> None:
    for parse in (values.decimal, values.iso_date, values.enterprise_number):

        def typed(t: str, parse: Callable[[str, str], str] = parse) -> str:
            return parse("--x", t)

        parsed = attempt(typed, text, InputError)
        if parsed is not None:  # what a parser returns, it accepts unchanged
            assert attempt(typed, parsed, InputError) == parsed


BYTES_PARSERS: dict[str, Callable[[bytes], None]] = {
    "canonical.decode": decode,
    "envelope.parse_entry": parse_entry,
    "note.parse_note": parse_note,
    "note.parse_checkpoint": parse_checkpoint,
    "bundle": read_bundle,
}
TEXT_PARSERS: dict[str, Callable[[str], None]] = {
    "note.parse_verifier_key": parse_verifier_key,
    "note.parse_signer_key": parse_signer_key,
    "forms.metrics_csv": metrics_csv,
    "forms.minutes_toml": minutes_toml,
    "values": value_parsers,
}


# --- valid samples, to mutate ------------------------------------------------------------------

ENVELOPE = envelope.Envelope(
    ledger="6f1c2b1e-8a4d-4c1e-9b1a-2f3e4d5c6b7a",
    seq=7,
    prev="ab" * 32,
    type="MetricSubmitted",
    schema=1,
    effective="2025-12-31",
    recorded_at="2026-03-02T09:15:00.000000Z",
    signer="cd" * 16,
    payload={"name": "turnover", "value": "198000000", "unit": "EUR", "year": 2025},
)
ENTRY = envelope.entry_bytes(ENVELOPE, bytes(range(64)))
CHECKPOINT = note.Checkpoint("ledger.example/6f1c", 7, bytes(range(32))).body()
SIGNED = note.cosign(note.sign_note(CHECKPOINT, "log.example", LOG), "witness.example", WITNESS, 1)
NOTE = SIGNED.to_bytes()
HEADER = canonical.encode(
    {
        "bundle": bundle.MAGIC,
        "ledger": ENVELOPE.ledger,
        "origin": "ledger.example/6f1c",
        "size": 1,
        "root": "00" * 32,
    }
)
BUNDLE = HEADER + b"\n" + ENTRY + b"\n"
VERIFIER_KEY = VERIFIERS[0].encode()
SIGNER_KEY = note.SignerKey.from_private_key("log.example", LOG).encode()
CSV = "name,value,unit,qualifier\nturnover,198000000,EUR,>\nmembers,12,people,\n"
MINUTES = """[assembly]
kind = "extraordinary"
date = "2020-06-19"
place = "Bruxelles"
shareholders_present = 100
shareholders_represented = 0
votes_represented = 100

[[resolution]]
number = 1
subject = "Article 37"
category = "statute_amendment"
votes_for = 100
votes_against = 0
votes_abstaining = 0
max_votes_single_shareholder = 1
majority_required = "three_quarters"
adopted = true
"""
BYTES_SAMPLES = {
    "canonical.decode": ENTRY,
    "envelope.parse_entry": ENTRY,
    "note.parse_note": NOTE,
    "note.parse_checkpoint": CHECKPOINT,
    "bundle": BUNDLE,
}
TEXT_SAMPLES = {
    "note.parse_verifier_key": VERIFIER_KEY,
    "note.parse_signer_key": SIGNER_KEY,
    "forms.metrics_csv": CSV,
    "forms.minutes_toml": MINUTES,
    "values": "0896.755.397",
}


def test_the_samples_parse() -> None:
    # Mutating samples that never parsed would only fuzz the first check of each parser.
    assert envelope.parse_entry(ENTRY).envelope == ENVELOPE
    assert note.parse_checkpoint(note.parse_note(NOTE).text).size == 7
    assert len(note.verify_note(note.parse_note(NOTE), VERIFIERS, now=2)) == 2
    assert bundle.read_header(io.BytesIO(BUNDLE)).size == 1
    assert note.parse_verifier_key(VERIFIER_KEY) == VERIFIERS[0]
    assert note.parse_signer_key(SIGNER_KEY).verifier_key() == VERIFIERS[0]
    assert len(forms.metrics_csv(CSV, 2025, "f.csv")) == 2
    assert len(forms.minutes_toml(MINUTES, "m.toml", EMPTY)) == 2
    assert values.enterprise_number("--x", "0896.755.397") == "0896.755.397"


# --- random mutations of the samples ----------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, sample: bytes) -> bytes:
    """``sample`` with a few random edits: bytes replaced, inserted, deleted, or cut short."""
    data = bytearray(sample)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        chunk = draw(st.binary(min_size=1, max_size=8) | st.sampled_from(TOKENS))
        if edit == "replace":
            data[at : at + len(chunk)] = chunk
        elif edit == "insert":
            data[at:at] = chunk
        elif edit == "delete":
            del data[at : at + len(chunk)]
        else:
            del data[at:]
    return bytes(data)


# Pieces that move a parser into its rarer branches.
TOKENS = [
    b"\n",
    b"\n\n",
    b"\x00",
    b"\xff",
    b"\xc0\xaf",  # an overlong "/"
    b"\xed\xa0\x80",  # a UTF-8-encoded surrogate
    b"\\u00e9",
    b"\\ud800",
    b"1.0",
    b"1e400",
    b"-0",
    b"9007199254740993",
    b" ",
    b"\r\n",
    b'"',
    b",",
    b"[",
    b"{",
    b'"v":2',
    b'"sig":"',
    b"=",
    b"+",
    "\u2014 ".encode(),
    b"cosignature/v1\n",
    b"[[resolution]]\n",
    b"a.b.c",
    b"2025-02-30",
]


def as_text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def test_base64_outside_ascii_is_malformed_not_a_crash() -> None:
    """Found by test_mutated_bytes: base64 raises a bare ValueError, not binascii.Error, for a
    character outside ASCII."""
    mutated = ENTRY.replace(b'"sig":"', '"sig":"\u1000'.encode(), 1)
    assert mutated != ENTRY
    with pytest.raises(envelope.EntryError, match="sig is not base64"):
        envelope.parse_entry(mutated)
    assert signers.public_key_of({"public_key": "\u1000" + "A" * 43}) is None


@pytest.mark.parametrize("name", sorted(BYTES_PARSERS))
@FUZZ
@given(data=st.data())
def test_mutated_bytes(name: str, data: st.DataObject) -> None:
    BYTES_PARSERS[name](data.draw(mutated(BYTES_SAMPLES[name])))


@pytest.mark.parametrize("name", sorted(TEXT_PARSERS))
@FUZZ
@given(data=st.data())
def test_mutated_text(name: str, data: st.DataObject) -> None:
    TEXT_PARSERS[name](as_text(data.draw(mutated(TEXT_SAMPLES[name].encode()))))


@pytest.mark.parametrize("name", sorted(BYTES_PARSERS))
@FUZZ
@given(data=st.binary(max_size=512))
def test_random_bytes(name: str, data: bytes) -> None:
    BYTES_PARSERS[name](data)


@pytest.mark.parametrize("name", sorted(TEXT_PARSERS))
@FUZZ
@given(text=st.text(max_size=256))
def test_random_text(name: str, text: str) -> None:
    TEXT_PARSERS[name](text)


# --- structured inputs ------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["\ud800", "é", "\x00", "\u2028"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=4) | st.sampled_from(["a", "b", "v", "sig"]), inner)
    ),
    max_leaves=12,
)


@st.composite
def json_spellings(draw: st.DrawFn, value: Any) -> bytes:
    """``value`` as JSON in one of the spellings a canonical decoder must tell apart."""
    text = json.dumps(
        value,
        ensure_ascii=draw(st.booleans()),
        sort_keys=draw(st.booleans()),
        separators=draw(st.sampled_from([(",", ":"), (", ", ": "), (",", ": ")])),
        indent=draw(st.sampled_from([None, None, 1])),
    )
    return text.encode("utf-8", "surrogatepass")


@FUZZ
@given(data=st.data())
def test_json_in_any_spelling(data: st.DataObject) -> None:
    value = data.draw(json_values)
    decode(data.draw(json_spellings(value)))
    try:
        encoded = canonical.encode(value)
    except canonical.CanonicalError:
        return
    # Inside the domain, the canonical spelling must come back as the value itself.
    assert canonical.decode(encoded) == value


@FUZZ
@given(field=st.sampled_from(sorted(ENVELOPE.to_dict())), value=json_values)
@example(field="v", value=2)  # an unknown format version
@example(field="v", value=True)  # equal to 1 in Python, not in the bytes that are signed
@example(field="seq", value=True)
@example(field="recorded_at", value="2026-02-30T25:61:00.000000Z")
def test_entry_with_one_field_replaced(field: str, value: Any) -> None:
    entry = {**ENVELOPE.to_dict(), "sig": base64.b64encode(bytes(64)).decode(), field: value}
    try:
        data = canonical.encode(entry)
    except canonical.CanonicalError:
        data = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode(
            "utf-8", "surrogatepass"
        )
    parse_entry(data)


@FUZZ
@given(field=st.sampled_from(["bundle", "ledger", "origin", "size", "root"]), value=json_values)
@example(field="bundle", value="coop-ledger/bundle/v2")
@example(field="size", value="1")
def test_bundle_header_with_one_field_replaced(field: str, value: Any) -> None:
    header = {**canonical.decode(HEADER), field: value}
    try:
        line = canonical.encode(header)
    except canonical.CanonicalError:
        line = json.dumps(header).encode("utf-8", "surrogatepass")
    read_bundle(line + b"\n" + ENTRY + b"\n")


key_names = st.text(max_size=12) | st.sampled_from(["log.example", "a+b", "a b", "é"])
hex_ids = st.text("0123456789abcdefABCDEFg", max_size=9)
key_data = st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()) | st.text(max_size=8)


@FUZZ
@given(
    name=key_names, hex_id=hex_ids, b64=key_data, kind=st.sampled_from([b"\x01", b"\x04", b"\x02"])
)
def test_key_strings_from_their_parts(name: str, hex_id: str, b64: str, kind: bytes) -> None:
    parse_verifier_key(f"{name}+{hex_id}+{b64}")
    parse_signer_key(f"PRIVATE+KEY+{name}+{hex_id}+{b64}")
    # Right shape, key data of the right length: only the key id can be wrong.
    material = base64.b64encode(kind + bytes(32)).decode()
    parse_verifier_key(f"{name}+{hex_id}+{material}")
    parse_signer_key(f"PRIVATE+KEY+{name}+{hex_id}+{material}")


signature_lines = st.builds(
    lambda name, raw: "\u2014 ".encode() + name.encode("utf-8", "surrogatepass") + b" " + raw,
    key_names,
    st.binary(min_size=1, max_size=80).map(base64.b64encode),
)


@FUZZ
@given(
    text=st.lists(st.text(max_size=20), min_size=1, max_size=5),
    lines=st.lists(signature_lines, max_size=4),
    keep=st.booleans(),
)
def test_notes_from_their_parts(text: list[str], lines: list[bytes], keep: bool) -> None:
    body = "".join(t + "\n" for t in text).encode("utf-8", "surrogatepass")
    kept = [s.line().rstrip(b"\n") for s in SIGNED.signatures] if keep else []
    parse_note(body + b"\n" + b"".join(line + b"\n" for line in [*kept, *lines]))
    parse_checkpoint(body)


cells = st.text(max_size=10) | st.sampled_from(["198000000", "12,5", "-0", "1e3", "", '"', "\x00"])


@FUZZ
@given(
    header=st.permutations(forms.CSV_COLUMNS).flatmap(
        lambda c: st.integers(0, len(c)).map(lambda n: c[:n])
    ),
    rows=st.lists(st.lists(cells, max_size=10), max_size=4),
)
def test_csv_from_its_parts(header: tuple[str, ...], rows: list[list[str]]) -> None:
    lines = [",".join(header), *(",".join(row) for row in rows)]
    metrics_csv("\n".join(lines) + "\n")


toml_values = st.sampled_from(
    [
        '"x"',
        "'x'",
        '"""\nx"""',
        "1",
        "99999999999999999999",
        "1.5",
        "nan",
        "inf",
        "true",
        "2020-06-19",
        "2020-06-19T10:00:00Z",
        "10:00:00",
        "[]",
        "[1, 2]",
        '["a", "b"]',
        "{}",
        "{a = 1}",
        '"\\u00e9"',
        '"2020-02-30"',
        '"12,5"',
        '"/dev/zero"',
        '"a\\u0000b"',
    ]
)


@FUZZ
@given(
    line=st.integers(0, 30),
    key=st.sampled_from(["", "effective", "text_fr_file", "x"]),
    value=toml_values,
)
def test_minutes_with_one_value_replaced(line: int, key: str, value: str) -> None:
    lines = MINUTES.splitlines()
    at = line % len(lines)
    name = key or lines[at].split("=")[0].strip() or "x"
    lines[at] = f"{name} = {value}"
    minutes_toml("\n".join(lines) + "\n")


@FUZZ
@given(
    text=st.from_regex(r"(BE)?[ .]?[0-9]{1,4}[ .]?[0-9]{0,4}[ .]?[0-9]{0,4}", fullmatch=True)
    | st.from_regex(r"-?[0-9]{1,45}(\.[0-9]{0,45})?|[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True)
)
def test_values_near_their_formats(text: str) -> None:
    value_parsers(text)


@FUZZ
@given(number=st.integers())
def test_year(number: int) -> None:
    assert attempt(lambda n: values.year("--year", n), number, InputError) in (None, number)


# --- hostile inputs: each must end fast, in bounded memory, with the parser's error ----------

DEEP = 100_000
HOSTILE: dict[str, bytes] = {
    "deep-arrays": b"[" * DEEP,
    "deep-arrays-closed": b"[" * DEEP + b"]" * DEEP,
    "deep-objects": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    "deep-toml-inline": b"a = " + b"{b=" * DEEP + b"1" + b"}" * DEEP + b"\n",
    "dotted-toml-key": b"a" + b".a" * DEEP + b" = 1\n",
    "dotted-toml-table": b"[a" + b".a" * DEEP + b"]\n",
    "huge-line": b"a" * (2 * MiB),
    "huge-number": b"1" * (1 * MiB),
    "huge-string": b'"' + b"a" * (2 * MiB) + b'"',
    "huge-cell": b"name,value,unit\nx," + b"1" * (2 * MiB) + b",EUR\n",
    "many-lines": b"\n" * (1 * MiB),
    "many-signature-lines": b"t\n\n" + "\u2014 a AAAAAAAA\n".encode() * 10_000,
    "duplicate-keys": b'{"a":1,"a":1}',
    "escaped-unicode": b'{"a":"\\u00e9"}',
    "float": b'{"a":1.0}',
    "exponent": b'{"a":1e2}',
    "whitespace": b'{ "a": 1 }',
    "unsorted": b'{"b":1,"a":2}',
    "bom": b'\xef\xbb\xbf{"a":1}',
    "nul": b'{"a":"\x00"}',
    "nul-bare": b"\x00" * 1024,
    "invalid-utf8": b'{"a":"\xff\xfe"}',
    "surrogate-utf8": b'{"a":"\xed\xa0\x80"}',
    "lone-surrogate-escape": b'{"a":"\\ud800"}',
    "big-integer": b"9007199254740992",
    "unknown-entry-version": ENTRY.replace(b'"v":1}', b'"v":2}'),
    "unknown-bundle-version": BUNDLE.replace(b"bundle/v1", b"bundle/v2"),
    "unknown-key-type": VERIFIER_KEY.encode()[:-1] + b"=",
    "crlf-note": NOTE.replace(b"\n", b"\r\n"),
    "empty": b"",
}
TRUNCATED = {
    f"{name}[:{n}]": sample[:n]
    for name, sample in BYTES_SAMPLES.items()
    for n in (1, len(sample) // 2, len(sample) - 1)
}


def everything(data: bytes) -> None:
    for parse in BYTES_PARSERS.values():
        parse(data)
    for parse_text in TEXT_PARSERS.values():
        parse_text(as_text(data))


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input(name: str) -> None:
    data = HOSTILE[name]
    tracemalloc.start()
    started = time.process_time()  # CPU time: a busy machine does not inflate it
    try:
        everything(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Copies of the input are fine (decoding, a line, a cell); growth beyond a few is not.
    assert peak < MEMORY + 16 * len(data), f"{peak / MiB:.0f} MiB"
    assert time.process_time() - started < 4 * SECONDS


@pytest.mark.parametrize("name", sorted(TRUNCATED))
def test_truncated_input(name: str) -> None:
    everything(TRUNCATED[name])


def test_every_prefix_of_an_entry_and_a_note() -> None:
    for sample, parse in ((ENTRY, parse_entry), (NOTE, parse_note), (BUNDLE, read_bundle)):
        for n in range(len(sample)):
            parse(sample[:n])


def test_bundle_line_over_the_limit() -> None:
    f = io.BytesIO(HEADER + b"\n" + b"x" * (bundle.MAX_LINE + 1) + b"\n")
    bundle.read_header(f)
    with pytest.raises(InputError, match="longer than"):
        list(bundle.rows(f))


def test_a_hang_fails_instead_of_hanging() -> None:
    # The alarm must go through a parser's own ``except Exception``, or no hang would fail.
    def stuck(seconds: float) -> None:
        with suppress(Exception):
            until = time.process_time() + seconds
            while time.process_time() < until:  # a parser spinning
                pass

    started = time.process_time()
    with pytest.raises(Hang), within(0.2):
        stuck(5)
    assert time.process_time() - started < 2
