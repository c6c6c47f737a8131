"""Fuzzing open_segy with hypothesis: valid small files, then mutated ones.

Valid files come from :func:`facies.io.segy.create.create_segy` with random geometry
(line numbers, steps, missing traces), sample count, sample format, byte order and
trace order; their values encode (inline, crossline, sample). A mutation then breaks
or reshuffles the file. The contract: ``open_segy`` returns exactly the survey the
mutated file describes, or raises a FaciesError, within a time limit and without
allocating far more than the file's size. Where a mutation is harmless (shuffled
traces, unused header bytes, ...) the survey is required; where it makes the file
invalid (duplicated traces, bad format code, ...) the error is required; where the
reader cannot tell (a flipped sample byte, a flipped coordinate) only what the
mutation cannot have changed is checked.

The default suite runs 60 valid and 150 mutated files, derandomized (the same ones on
every run, ~15 s); ``pytest -m slow`` runs 600 of each, new ones every run (a failure
prints the example and a ``@reproduce_failure`` blob to replay it).
"""

from __future__ import annotations

import functools
import signal
import tempfile
import threading
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from math import gcd
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import event, given, settings
from hypothesis import strategies as st

from facies.errors import FaciesError
from facies.io import open_segy
from facies.io.segy.create import SegySpec, create_segy
from facies.io.segy.formats import SAMPLE_FORMATS
from facies.io.segy.geometry import MIN_LIVE_FRACTION
from facies.names import AMPLITUDE, CDP_X, CDP_Y, CROSSLINE, INLINE, LIVE, SAMPLE

READABLE = sorted(code for code, fmt in SAMPLE_FORMATS.items() if fmt.supported)
FLOAT_FORMATS = {1, 5, 6}
SIGNED_FORMATS = {2, 3, 7, 8, 9}
TEXT, HEADERS, TRACE_HEADER = 3200, 3600, 240
COORD_SCALAR = -100  # coordinates in centimetres, as create_segy writes by default

# Binary header fields the reader uses (1-based first bytes; all are 2 bytes long).
BIN_INTERVAL, BIN_SAMPLES, BIN_FORMAT = 3217, 3221, 3225
BIN_REVISION, BIN_EXT_TEXT, BIN_EXTRA_HEADERS = 3501, 3505, 3507
BINARY_USED = [
    pos + k
    for pos in (BIN_INTERVAL, BIN_SAMPLES, BIN_FORMAT, BIN_REVISION, BIN_EXT_TEXT)
    for k in (0, 1)
] + [BIN_EXTRA_HEADERS, BIN_EXTRA_HEADERS + 1]
# Trace header fields the reader uses (1-based bytes).
KEY_BYTES = range(189, 197)  # inline 189-192, crossline 193-196
SAMPLES_BYTES = range(115, 117)
INTERVAL_BYTES = range(117, 119)
AXIS_BYTES = [*range(109, 111), *range(215, 217)]  # delay and its time scalar
COORD_BYTES = [*range(71, 81), *range(181, 189)]  # scalar, source X/Y, CDP X/Y
OFFSET_BYTES = range(37, 41)
TRACE_USED = [
    *KEY_BYTES,
    *SAMPLES_BYTES,
    *INTERVAL_BYTES,
    *AXIS_BYTES,
    *COORD_BYTES,
    *OFFSET_BYTES,
]

# No hang: hypothesis fails an example slower than DEADLINE (each takes ~10-50 ms), and
# an alarm interrupts a read after TIME_LIMIT, in case one never returns at all.
DEADLINE = timedelta(seconds=5)
TIME_LIMIT = 20.0

# No huge allocation. A valid survey's float32 cube holds at most 1 / MIN_LIVE_FRACTION
# (10) cells per trace, each of ns 4-byte samples, while the file holds every trace with
# at least 1 byte per sample plus a 240-byte header: 40x the file at most, plus per-cell
# coordinates (2 x 8 bytes x 10 cells, less than the header) and the grid's line axes.
# A mutation that fools the reader into a grid or a trace length far beyond the file
# goes well past 64x. ALLOCATION_SLACK covers the fixed cost of building an xarray
# Dataset: peaks measured on valid files here (4-45 KiB) are 20-50 KiB in all.
ALLOCATION_FACTOR = 64
ALLOCATION_SLACK = 2**20

FAST = settings(max_examples=60, derandomize=True, database=None, deadline=DEADLINE)
# The slow run explores new examples each time; print_blob lets a failure be replayed.
SLOW = settings(max_examples=600, deadline=DEADLINE, print_blob=True)


# ----------------------------------------------------------------- valid files


@dataclass(frozen=True, eq=False)
class Case:
    """A valid small SEG-Y file: geometry, live cells, sample count and layout."""

    inlines: np.ndarray
    crosslines: np.ndarray
    live: np.ndarray  # (inline, crossline) bool
    ns: int
    spec: SegySpec

    @property
    def trace_size(self) -> int:
        return TRACE_HEADER + self.ns * SAMPLE_FORMATS[self.spec.format_code].size

    @property
    def n_traces(self) -> int:
        return int(self.live.sum())

    @property
    def file_size(self) -> int:
        return HEADERS + self.n_traces * self.trace_size


@st.composite
def cases(draw: st.DrawFn) -> Case:
    nil, nxl = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    il0, xl0 = draw(st.integers(-1000, 10**6)), draw(st.integers(-1000, 10**6))
    il_step, xl_step = draw(st.integers(1, 50)), draw(st.integers(1, 50))
    # at most half the cells missing: the reader neither warns nor refuses the grid
    missing = draw(st.sets(st.integers(0, nil * nxl - 1), max_size=nil * nxl // 2))
    live = np.ones(nil * nxl, dtype=bool)
    live[sorted(missing)] = False
    interval = draw(st.one_of(st.sampled_from([1000, 2000, 4000]), st.integers(1, 32767)))
    spec = SegySpec(
        sample_interval_us=interval,
        delay_ms=draw(st.integers(0, 3000)),
        format_code=draw(st.sampled_from(READABLE)),
        endian=draw(st.sampled_from(["big", "little"])),
        sorting=draw(st.sampled_from(["inline", "crossline", "shuffled"])),
        coord_scalar=COORD_SCALAR,
        seed=draw(st.integers(0, 2**16)),
    )
    return Case(
        inlines=il0 + il_step * np.arange(nil),
        crosslines=xl0 + xl_step * np.arange(nxl),
        live=live.reshape(nil, nxl),
        # round counts too, as real files have: with them, trace lengths divide 3200
        ns=draw(st.one_of(st.integers(1, 40), st.sampled_from([10, 16, 20, 40, 80]))),
        spec=spec,
    )


def sample_values(code: int, nil: int, nxl: int, ns: int) -> np.ndarray:
    """Values that encode (inline, crossline, sample) and are exact in format ``code``.

    Floats: +-(i*100 + x + 1 + s/128), at most 16 significant bits (exact even in IBM
    float, which may lose 3 of its 24). Integers: the running sample number, wrapped to
    8 or 16 bits, signed where the format is, shifted up so that the top byte of wide
    formats is used too; at most 16 significant bits, so exact in float32 as well.
    """
    i, x, s = np.meshgrid(np.arange(nil), np.arange(nxl), np.arange(ns), indexing="ij")
    if code in FLOAT_FORMATS:
        return np.where((i + x) % 2, -1.0, 1.0) * (i * 100 + x + 1 + s / 128)
    size = SAMPLE_FORMATS[code].size
    bits = min(8 * size, 16)
    value = ((i * nxl + x) * ns + s) % 2**bits
    if code in SIGNED_FORMATS:
        value = value - 2 ** (bits - 1)
    return value.astype(np.float64) * 2.0 ** (8 * size - bits)


@dataclass(frozen=True, eq=False)
class Expected:
    """The survey a file describes."""

    inlines: np.ndarray
    crosslines: np.ndarray
    live: np.ndarray
    amplitude: np.ndarray  # float32
    cdp_x: np.ndarray
    cdp_y: np.ndarray
    samples: np.ndarray
    endian: str
    format_code: int


@dataclass(frozen=True, eq=False)
class Model:
    """A written valid file, and what the reader must find in it."""

    case: Case
    raw: bytes
    cube: np.ndarray  # (inline, crossline, sample) float32 values as decoded
    cdp_x: np.ndarray  # (inline, crossline) as read back (centimetre integers x 0.01)
    cdp_y: np.ndarray
    keys: np.ndarray  # (trace, 2) inline and crossline number of each trace in the file
    cells: np.ndarray  # (trace, 2) cell index of the values each trace carries

    @property
    def endian(self) -> str:
        return self.case.spec.endian

    def samples(self, interval_us: int | None = None) -> np.ndarray:
        interval = self.case.spec.sample_interval_us if interval_us is None else interval_us
        return self.case.spec.delay_ms + interval / 1000 * np.arange(self.case.ns)

    def trace_offset(self, k: int, byte: int = 1) -> int:
        """File offset of 1-based trace header byte ``byte`` of file trace ``k``."""
        return HEADERS + k * self.case.trace_size + byte - 1

    def records(self, raw: bytes | bytearray | None = None) -> np.ndarray:
        body = np.frombuffer(self.raw if raw is None else raw, dtype=np.uint8, offset=HEADERS)
        return body.reshape(-1, self.case.trace_size)


def write_case(case: Case, folder: Path) -> Model:
    nil, nxl, ns = len(case.inlines), len(case.crosslines), case.ns
    values = sample_values(case.spec.format_code, nil, nxl, ns)
    # from the cell indices: line numbers x 25 m could overflow the 4-byte header fields
    gx, gy = np.meshgrid(np.arange(nxl) * 25.0 + 0.25, np.arange(nil) * 12.5 - 0.5)
    cdp_x, cdp_y = 500_000 + gx, 6_000_000 + gy
    path = create_segy(
        folder / "valid.sgy",
        values,
        case.inlines,
        case.crosslines,
        live=case.live,
        cdp_x=cdp_x,
        cdp_y=cdp_y,
        spec=case.spec,
    )
    raw = path.read_bytes()
    assert len(raw) == case.file_size
    records = np.frombuffer(raw, dtype=np.uint8, offset=HEADERS).reshape(-1, case.trace_size)
    keys = trace_keys(records, case.spec.endian)
    cells = np.stack(
        [np.searchsorted(case.inlines, keys[:, 0]), np.searchsorted(case.crosslines, keys[:, 1])],
        axis=1,
    )
    cube = values.astype(np.float32)
    return Model(case, raw, cube, read_back(cdp_x), read_back(cdp_y), keys, cells)


def read_back(coordinate: np.ndarray) -> np.ndarray:
    """A coordinate as the reader gives it back: whole centimetres, scaled by 1/100."""
    return np.rint(coordinate * -COORD_SCALAR) * (-1.0 / COORD_SCALAR)


def trace_keys(records: np.ndarray, endian: str) -> np.ndarray:
    """Inline (byte 189) and crossline (byte 193) numbers of every trace record."""
    prefix = ">" if endian == "big" else "<"
    keys = np.ascontiguousarray(records[:, 188:196]).view(f"{prefix}i4")
    return keys.astype(np.int64).reshape(-1, 2)


def grid_axis(values: np.ndarray) -> tuple[int, int, int]:
    """First, step and count of the regular axis through ``values`` (as the reader builds it)."""
    unique = np.unique(values)
    step = functools.reduce(gcd, np.diff(unique).tolist(), 0) or 1
    return int(unique[0]), step, (int(unique[-1]) - int(unique[0])) // step + 1


def survey_of(model: Model, keys: np.ndarray, cells: np.ndarray) -> Expected | None:
    """The survey of traces at ``keys`` carrying the values of ``cells``; None if invalid.

    Invalid: no trace, two traces on one inline/crossline pair, or fewer than
    MIN_LIVE_FRACTION of the grid's cells live (the reader's default refusal).
    """
    n = len(keys)
    if n == 0:
        return None
    (il0, il_step, nil), (xl0, xl_step, nxl) = grid_axis(keys[:, 0]), grid_axis(keys[:, 1])
    if n / (nil * nxl) < MIN_LIVE_FRACTION:  # as the reader computes it, to the last bit
        return None
    ii, xx = (keys[:, 0] - il0) // il_step, (keys[:, 1] - xl0) // xl_step
    if len(np.unique(ii * nxl + xx)) < n:
        return None
    amplitude = np.zeros((nil, nxl, model.case.ns), dtype=np.float32)
    amplitude[ii, xx] = model.cube[cells[:, 0], cells[:, 1]]
    live = np.zeros((nil, nxl), dtype=bool)
    live[ii, xx] = amplitude[ii, xx].any(axis=-1)  # all-zero traces are dead by default
    cdp_x, cdp_y = np.full((nil, nxl), np.nan), np.full((nil, nxl), np.nan)
    cdp_x[ii, xx] = model.cdp_x[cells[:, 0], cells[:, 1]]
    cdp_y[ii, xx] = model.cdp_y[cells[:, 0], cells[:, 1]]
    return Expected(
        inlines=il0 + il_step * np.arange(nil),
        crosslines=xl0 + xl_step * np.arange(nxl),
        live=live,
        amplitude=amplitude,
        cdp_x=cdp_x,
        cdp_y=cdp_y,
        samples=model.samples(),
        endian=model.endian,
        format_code=model.case.spec.format_code,
    )


# ------------------------------------------------------- reading, with guards


class ExampleTimeout(Exception):
    """open_segy ran past TIME_LIMIT: a hang (deliberately not a FaciesError)."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block with ExampleTimeout after ``seconds`` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise ExampleTimeout(f"open_segy did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def allocation_limit(limit: int) -> Iterator[None]:
    """Fail if the block's peak traced allocation (numpy's included) exceeds ``limit``.

    Checked also when the block raises: refusing a file after allocating gigabytes
    for it is a failure too.
    """
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        yield
    finally:
        peak = tracemalloc.get_traced_memory()[1] - base
        if started:
            tracemalloc.stop()
        if peak > limit:
            raise AssertionError(f"open_segy allocated {peak} bytes at peak, limit {limit}")


@functools.cache
def warm_up() -> None:
    """Read one file of every format once, so first-use imports don't count as allocations."""
    with tempfile.TemporaryDirectory() as tmp:
        for code in READABLE:
            spec = SegySpec(format_code=code)
            path = Path(tmp) / f"{code}.sgy"
            create_segy(path, np.zeros((2, 2, 4)), np.arange(2), np.arange(2), spec=spec)
            open_segy(path)


def read_guarded(path: Path) -> xr.Dataset:
    """open_segy under the time and allocation limits, with every sample decoded."""
    warm_up()
    limit = ALLOCATION_FACTOR * path.stat().st_size + ALLOCATION_SLACK
    with time_limit(TIME_LIMIT), allocation_limit(limit):
        survey = open_segy(path)
        survey.load()  # a lazy reader would decode here: decoding errors surface inside
        survey[AMPLITUDE].values.sum()
    return survey


def assert_survey(
    survey: xr.Dataset,
    exp: Expected,
    *,
    values: bool = True,
    coords: bool = True,
    axis: bool = True,
    unchecked_cell: tuple[int, int] | None = None,
) -> None:
    """The survey is ``exp``, except for what the flags leave unchecked."""
    np.testing.assert_array_equal(survey[INLINE].values, exp.inlines)
    np.testing.assert_array_equal(survey[CROSSLINE].values, exp.crosslines)
    np.testing.assert_array_equal(survey[LIVE].values, exp.live)
    amplitude = survey[AMPLITUDE].values
    assert amplitude.dtype == np.float32
    assert amplitude.shape == exp.amplitude.shape
    if values:
        mask = np.ones(exp.live.shape, dtype=bool)
        if unchecked_cell is not None:
            mask[unchecked_cell] = False
        np.testing.assert_array_equal(amplitude[mask], exp.amplitude[mask])
    if coords:
        np.testing.assert_allclose(survey[CDP_X].values, exp.cdp_x, rtol=1e-12)
        np.testing.assert_allclose(survey[CDP_Y].values, exp.cdp_y, rtol=1e-12)
    if axis:
        np.testing.assert_allclose(survey[SAMPLE].values, exp.samples, rtol=1e-12)
    assert survey.attrs["endian"] == exp.endian
    assert survey.attrs["sample_format"] == exp.format_code


# ------------------------------------------------------------------ mutations


@dataclass(frozen=True)
class Mutation:
    """One change to a valid file; ``kind`` picks it, ``args`` say where and what."""

    kind: str
    args: tuple = ()


@dataclass(frozen=True, eq=False)
class Expect:
    """What the reader must do with a mutated file.

    outcome: "survey" (must read it, matching ``survey``), "error" (must raise a
    FaciesError), "either" (a FaciesError, or a survey matching in what is checked) or
    "any" (the mutated file is self-consistent: a FaciesError or whatever it describes).
    """

    outcome: str
    survey: Expected | None = None
    values: bool = True
    coords: bool = True
    axis: bool = True
    unchecked_cell: tuple[int, int] | None = None


ERROR = Expect("error")
ANY = Expect("any")


def as_expected(survey: Expected | None) -> Expect:
    """The survey ``survey_of`` predicts, or the error it predicts with None."""
    return ERROR if survey is None else Expect("survey", survey)


KINDS = [
    "flip",
    "truncate",
    "format_code",
    "sample_count",
    "sample_interval",
    "ext_text_count",
    "shuffle",
    "drop",
    "duplicate",
    "scramble",
]
BAD_FORMAT_CODES = [0, 4, 13, 14, 17, 255, 256, -1, 1280, 0x7FFF, -0x8000]


@st.composite
def mutations(draw: st.DrawFn, case: Case) -> Mutation:
    kind = draw(st.sampled_from(KINDS))
    n, size, ts = case.n_traces, case.file_size, case.trace_size
    if kind == "shuffle":
        return Mutation(kind, tuple(draw(st.permutations(range(n)))))
    if kind == "truncate":
        edges = [TEXT, HEADERS, HEADERS + TRACE_HEADER] + [HEADERS + k * ts for k in range(1, n)]
        near = st.sampled_from(edges).flatmap(lambda e: st.integers(e - 1, e + 1))
        options = [st.integers(0, size - 1), near.filter(lambda a: 0 <= a < size)]
        if n > 1:  # between two traces: a valid file of fewer traces
            options.append(st.integers(1, n - 1).map(lambda k: HEADERS + k * ts))
        return Mutation(kind, (draw(st.one_of(options)),))
    header_field = st.tuples(st.integers(0, n - 1), st.sampled_from(TRACE_USED)).map(
        lambda kb: HEADERS + kb[0] * ts + kb[1] - 1
    )
    where = st.one_of(
        st.integers(0, size - 1),
        st.sampled_from(BINARY_USED).map(lambda pos: pos - 1),
        header_field,
    )
    if kind == "flip":
        return Mutation(kind, (draw(where), draw(st.integers(1, 255))))
    if kind == "scramble":  # several flips at once: only no crash, hang or huge allocation
        flips = st.lists(st.tuples(where, st.integers(1, 255)), min_size=2, max_size=8)
        return Mutation(kind, tuple(draw(flips)))
    body = size - HEADERS
    if kind == "format_code":
        # codes of another sample size that divide the traces into whole (wrong) traces
        fitting = [
            c for c in READABLE if body % (TRACE_HEADER + case.ns * SAMPLE_FORMATS[c].size) == 0
        ]
        options = [st.sampled_from(BAD_FORMAT_CODES), st.integers(-0x8000, 0x7FFF)]
        options += [st.sampled_from(READABLE), *likely(fitting)]
        return Mutation(kind, (draw(st.one_of(options)),))
    if kind == "sample_count":
        where = draw(st.sampled_from(["binary", "binary+first", "binary+all", "all", "first"]))
        bps = SAMPLE_FORMATS[case.spec.format_code].size
        # counts that divide the traces into whole (wrong) traces: the hard ones to notice
        fitting = [
            (t - TRACE_HEADER) // bps
            for t in range(TRACE_HEADER + bps, min(body, TRACE_HEADER + 65535 * bps) + 1, bps)
            if body % t == 0
        ]
        special = st.sampled_from([0, 65535, case.ns - 1, case.ns + 1, 2 * case.ns])
        value = draw(st.one_of(special, st.integers(0, 65535), *likely(fitting)))
        return Mutation(kind, (where, value))
    if kind == "ext_text_count":
        # counts that leave a whole number of traces after the "extended headers"
        fitting = [v for v in range(1, body // TEXT + 1) if (body - v * TEXT) % ts == 0]
        special = st.sampled_from([-2, -1, 0, 1, 2, 0x7FFF])
        return Mutation(kind, (draw(st.one_of(special, *likely(fitting))),))
    if kind == "sample_interval":
        where = draw(st.sampled_from(["binary", "binary+first", "binary+all", "all", "first"]))
        return Mutation(kind, (where, draw(st.one_of(st.just(0), st.integers(-0x8000, 0x7FFF)))))
    if kind == "drop":
        return Mutation(kind, tuple(sorted(draw(st.sets(st.integers(0, n - 1), min_size=1)))))
    # duplicate: (trace to copy, where to insert it), one or more times
    copies = st.tuples(st.integers(0, n - 1), st.integers(0, n))
    return Mutation(kind, tuple(draw(st.lists(copies, min_size=1, max_size=3))))


def likely(values: list[int]) -> list[st.SearchStrategy[int]]:
    """A branch for one_of drawing from ``values`` (as often as any other), if any."""
    return [st.sampled_from(values)] * 2 if values else []


def put(raw: bytearray, offset: int, value: int, size: int, endian: str, signed: bool) -> None:
    raw[offset : offset + size] = value.to_bytes(size, endian, signed=signed)


def get(raw: bytes | bytearray, offset: int, size: int, endian: str, signed: bool) -> int:
    return int.from_bytes(raw[offset : offset + size], endian, signed=signed)


def apply(model: Model, mutation: Mutation) -> tuple[bytes, Expect]:
    """The mutated file's bytes and what the reader must make of them."""
    case, endian, kind, args = model.case, model.endian, mutation.kind, mutation.args
    raw, ts = bytearray(model.raw), case.trace_size
    head, records = model.raw[:HEADERS], model.records()
    if kind in ("shuffle", "drop", "duplicate"):
        order = list(args) if kind == "shuffle" else list(range(case.n_traces))
        if kind == "drop":
            order = [k for k in order if k not in set(args)]
        if kind == "duplicate":
            for trace, at in args:
                order.insert(at, trace)
        new = head + records[order].tobytes()
        return new, as_expected(survey_of(model, model.keys[order], model.cells[order]))
    if kind == "truncate":
        (at,) = args
        whole, rest = divmod(at - HEADERS, ts)
        if at <= HEADERS or rest:
            return bytes(raw[:at]), ERROR
        kept = slice(0, whole)
        return bytes(raw[:at]), as_expected(survey_of(model, model.keys[kept], model.cells[kept]))
    if kind == "flip":
        return flip(model, *args)
    if kind == "scramble":
        for offset, mask in args:
            raw[offset] ^= mask
        return bytes(raw), ANY
    if kind == "format_code":
        return format_code(model, *args)
    if kind == "ext_text_count":
        (value,) = args
        put(raw, BIN_EXT_TEXT - 1, value, 2, endian, signed=True)
        full = survey_of(model, model.keys, model.cells)
        # anything else than 0 is wrong here: no extended header fits, or trace bytes stand
        # where the extended headers should be, which are not text
        return bytes(raw), Expect("survey", full) if value == 0 else ERROR
    where, value = args
    if kind == "sample_count":
        binary = (BIN_SAMPLES - 1, 2, False)
        traces = (115, 2, False)
    else:
        binary = (BIN_INTERVAL - 1, 2, True)
        traces = (117, 2, True)
    if where.startswith("binary"):
        put(raw, binary[0], value, binary[1], endian, binary[2])
    targets = {"first": [0], "all": range(case.n_traces)}
    for k in targets.get(where.removeprefix("binary").removeprefix("+"), []):
        put(raw, model.trace_offset(k, traces[0]), value, traces[1], endian, traces[2])
    full = survey_of(model, model.keys, model.cells)
    if kind == "sample_count":
        return bytes(raw), sample_count_expectation(model, raw, where, value, full)
    return bytes(raw), sample_interval_expectation(model, where, value, full)


def sample_count_expectation(
    model: Model, raw: bytes | bytearray, where: str, value: int, full: Expected
) -> Expect:
    ns = model.case.ns
    if value == ns:
        return Expect("survey", full)
    if where in ("first", "all"):
        # the binary header's count is used; trace headers saying 0 are fine, others
        # contradict it (the reader may refuse them, or read what the binary header says)
        return Expect("survey" if value == 0 else "either", full)
    if value == 0:
        # 0 in the binary header: the first trace header's count is used, if not 0 too
        return Expect("survey", full) if where == "binary" else ERROR
    if where == "binary":
        return ERROR  # the first trace header contradicts it
    # binary and trace header(s) agree on the wrong count
    return misframed(raw, value, SAMPLE_FORMATS[model.case.spec.format_code].size, model.endian)


def misframed(raw: bytes | bytearray, ns: int, size: int, endian: str) -> Expect:
    """What the reader must do when the headers say traces of ``ns`` samples of ``size``
    bytes, and agree with each other, but the traces are not that long.

    Refuse, where it can tell: the bytes are no whole number of such traces, or some
    trace header at the place such traces put it gives another count (not 0, not the
    first one's). Otherwise the file is self-consistent, wrong as it is: anything goes.
    """
    body = len(raw) - HEADERS
    length = TRACE_HEADER + ns * size
    if body % length:
        return ERROR
    headers = np.frombuffer(raw, dtype=np.uint8, offset=HEADERS).reshape(-1, length)
    prefix = ">" if endian == "big" else "<"
    counts = np.ascontiguousarray(headers[:, 114:116]).view(f"{prefix}u2")[:, 0]
    return ERROR if np.isin(counts, [0, counts[0]], invert=True).any() else ANY


def sample_interval_expectation(model: Model, where: str, value: int, full: Expected) -> Expect:
    original = model.case.spec.sample_interval_us
    binary = value if where.startswith("binary") else original
    if binary > 0:
        return Expect("survey", replace(full, samples=model.samples(binary)))
    # the binary header's interval is 0 or negative: the first trace header's is used
    first = value if where in ("binary+first", "binary+all") else original
    if first > 0:
        return Expect("survey", replace(full, samples=model.samples(first)))
    return ERROR


def format_code(model: Model, code: int) -> tuple[bytes, Expect]:
    raw, endian = bytearray(model.raw), model.endian
    original = model.case.spec.format_code
    put(raw, BIN_FORMAT - 1, code, 2, endian, signed=True)
    big = get(raw, BIN_FORMAT - 1, 2, "big", signed=True)
    little = get(raw, BIN_FORMAT - 1, 2, "little", signed=True)
    detected = "big" if big in SAMPLE_FORMATS else "little" if little in SAMPLE_FORMATS else None
    full = survey_of(model, model.keys, model.cells)
    if code == original:
        return bytes(raw), Expect("survey", full)
    if detected is not None and detected != endian:
        # the code reads as a known one only in the other byte order: so would the file
        other = SAMPLE_FORMATS[big if detected == "big" else little]
        ns = get(raw, BIN_SAMPLES - 1, 2, detected, signed=False)
        if not (other.supported and ns):
            return bytes(raw), ERROR
        return bytes(raw), misframed(raw, ns, other.size, detected)
    fmt = SAMPLE_FORMATS.get(code)
    if fmt is None or not fmt.supported:
        return bytes(raw), ERROR
    if fmt.size == SAMPLE_FORMATS[original].size:
        # another format of the same size: undetectable, the samples decode differently
        return bytes(raw), Expect("survey", replace(full, format_code=code), values=False)
    return bytes(raw), misframed(raw, model.case.ns, fmt.size, endian)


def flip(model: Model, offset: int, mask: int) -> tuple[bytes, Expect]:
    """XOR one byte with ``mask``; what that byte means decides the expectation."""
    raw, endian, case = bytearray(model.raw), model.endian, model.case
    raw[offset] ^= mask
    full = survey_of(model, model.keys, model.cells)
    if offset < TEXT:
        return bytes(raw), Expect("survey", full)  # only the textual_header attr changes
    if offset < HEADERS:
        pos = offset + 1
        if pos in (BIN_INTERVAL, BIN_INTERVAL + 1):
            value = get(raw, BIN_INTERVAL - 1, 2, endian, signed=True)
            return bytes(raw), sample_interval_expectation(model, "binary", value, full)
        if pos in (BIN_SAMPLES, BIN_SAMPLES + 1):
            value = get(raw, BIN_SAMPLES - 1, 2, endian, signed=False)
            return bytes(raw), sample_count_expectation(model, raw, "binary", value, full)
        if pos in (BIN_FORMAT, BIN_FORMAT + 1):
            return format_code(model, get(raw, BIN_FORMAT - 1, 2, endian, signed=True))
        if pos in (BIN_EXT_TEXT, BIN_EXT_TEXT + 1):
            # extended textual headers that are not there: the traces can't be found
            return bytes(raw), ERROR
        if pos in BINARY_USED:  # revision, extra trace headers: rev 1 reads the same
            return bytes(raw), Expect("either", full)
        return bytes(raw), Expect("survey", full)  # unused binary header byte
    trace, byte = divmod(offset - HEADERS, case.trace_size)
    byte += 1
    if byte > TRACE_HEADER:  # a sample byte: that trace's values may change
        ii = np.searchsorted(full.inlines, model.keys[trace, 0])
        xx = np.searchsorted(full.crosslines, model.keys[trace, 1])
        return bytes(raw), Expect("either", full, unchecked_cell=(int(ii), int(xx)))
    if byte in KEY_BYTES:
        keys = model.keys.copy()
        keys[trace] = trace_keys(model.records(raw)[trace : trace + 1], endian)[0]
        return bytes(raw), as_expected(survey_of(model, keys, model.cells))
    if byte in COORD_BYTES:
        return bytes(raw), Expect("either", full, coords=False)
    if byte in AXIS_BYTES:
        return bytes(raw), Expect("either", full, axis=trace != 0)
    if byte in (*SAMPLES_BYTES, *INTERVAL_BYTES, *OFFSET_BYTES):
        return bytes(raw), Expect("either", full)
    return bytes(raw), Expect("survey", full)  # unused trace header byte


# ---------------------------------------------------------------------- tests


def check_valid(case: Case) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model = write_case(case, Path(tmp))
        expected = survey_of(model, model.keys, model.cells)
        assert expected is not None
        assert_survey(read_guarded(Path(tmp) / "valid.sgy"), expected)


def check_mutated(case: Case, mutation: Mutation) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model = write_case(case, Path(tmp))
        raw, expect = apply(model, mutation)
        path = Path(tmp) / "mutated.sgy"
        path.write_bytes(raw)
        try:
            survey = read_guarded(path)
        except FaciesError as err:
            event(f"{mutation.kind}: expected {expect.outcome}, raised")
            assert expect.outcome != "survey", f"a harmless mutation was refused: {err}"
            return
        event(f"{mutation.kind}: expected {expect.outcome}, read")
        assert expect.outcome != "error", f"read a broken file as a survey: {survey}"
        if expect.outcome == "any":
            return
        assert_survey(
            survey,
            expect.survey,
            values=expect.values,
            coords=expect.coords,
            axis=expect.axis,
            unchecked_cell=expect.unchecked_cell,
        )


def mutated_cases() -> st.SearchStrategy[tuple[Case, Mutation]]:
    return cases().flatmap(lambda case: st.tuples(st.just(case), mutations(case)))


@FAST
@given(cases())
def test_valid_files_read_exactly(case):
    check_valid(case)


@settings(FAST, max_examples=150)
@given(mutated_cases())
def test_mutated_files_read_correctly_or_raise(case_and_mutation):
    check_mutated(*case_and_mutation)


@pytest.mark.slow
@SLOW
@given(cases())
def test_valid_files_read_exactly_many(case):
    check_valid(case)


@pytest.mark.slow
@SLOW
@given(mutated_cases())
def test_mutated_files_read_correctly_or_raise_many(case_and_mutation):
    check_mutated(*case_and_mutation)
