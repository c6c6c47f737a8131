"""The geology of the built-in synthetic survey, as functions of (inline, crossline, sample).

Every random choice is drawn once, from the seed, when a :class:`Geology` is built;
after that the labels and amplitudes of a block of inlines are pure functions of the
indices (random textures and noise come from hashing the indices, not from a random
stream). Blocks of any size, in any order, therefore agree exactly with the whole
cube, which is what lets a multi-GB survey stream through bounded memory.

The model: layers between folded horizons (deeper horizons fold more, so layer
thickness varies), offset by normal faults, with channel bodies of another facies cut
into some layers. Each facies lays its own log-impedance series along the layer's
stratal coordinate, so internal reflectors follow the structure; the impedance
contrast plus noise is convolved with a Ricker wavelet along the sample axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from facies.sources.synthetic import SynthParams


@dataclass(frozen=True)
class FaciesStyle:
    """The seismic character of one facies."""

    name: str
    bed: float  # mean bed thickness of its impedance series, in samples
    gain: float  # impedance contrast between its beds
    chaos: float = 0.0  # vertical jitter of reflector segments, in samples
    dip: float = 0.0  # clinoform dip, in samples per trace
    cyclic: bool = False  # regular alternation (thin beds) instead of random beds


STYLES = (
    FaciesStyle("parallel", bed=3.5, gain=1.0),
    FaciesStyle("chaotic", bed=3.0, gain=0.6, chaos=6.0),
    FaciesStyle("transparent", bed=3.5, gain=0.12),
    FaciesStyle("high_amplitude", bed=3.5, gain=2.5),
    FaciesStyle("clinoform", bed=3.5, gain=1.0, dip=0.35),
    FaciesStyle("thin_bedded", bed=2.0, gain=0.8, cyclic=True),
)

RES = 8  # impedance tables hold this many entries per sample
CONTRAST = 0.1  # log-impedance step of a unit-gain bed boundary
CELL = 4  # lateral size (traces) of a chaotic reflector segment
CELL_T = 6.0  # vertical size (samples) of a chaotic reflector segment
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_KEYS = tuple(np.uint64(k) for k in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9))


class Fault(NamedTuple):
    """A normal fault: the hanging wall (``d > 0``) is dropped by ``throw`` samples.

    ``d = ci * inline + cj * crossline - p0 - heave * (sample / n_samples - 0.5)``,
    in trace units, so the plane moves ``heave`` traces across the cube's depth.
    """

    ci: float
    cj: float
    p0: float
    heave: float
    throw: float


class Channel(NamedTuple):
    """A sinuous channel of facies ``facies`` cut from the top of layer ``host``.

    Its axis runs along ``u = ca * inline + sa * crossline`` at
    ``v = c + amp * sin(2 pi u / wavelength + phase)``; it is ``width`` traces wide on
    each side and cuts ``depth`` of the host's thickness at the axis.
    """

    host: int
    facies: int
    ca: float
    sa: float
    c: float
    amp: float
    wavelength: float
    phase: float
    width: float
    depth: float


def facies_styles(n_facies: int) -> list[FaciesStyle]:
    """The first ``n_facies`` styles; beyond the six presets, variants with other beds."""
    styles = []
    for k in range(n_facies):
        base, round_ = STYLES[k % len(STYLES)], k // len(STYLES)
        if round_:
            scale = 1.0 + 0.6 * round_
            base = FaciesStyle(
                f"{base.name}_{round_ + 1}", base.bed * scale, base.gain / scale**0.5,
                base.chaos, base.dip * scale, base.cyclic,
            )  # fmt: skip
        styles.append(base)
    return styles


def hash_uniform(salt: int, *keys: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) values that are a pure function of integer keys (splitmix64)."""
    h = np.full(np.broadcast_shapes(*(np.shape(k) for k in keys)), salt, dtype=np.uint64)
    for key, mult in zip(keys, _KEYS, strict=False):
        h += np.asarray(key).astype(np.int64).astype(np.uint64) * mult
    return (_mix(h) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _mix(h: np.ndarray) -> np.ndarray:
    h ^= h >> np.uint64(30)
    h *= _M1
    h ^= h >> np.uint64(27)
    h *= _M2
    h ^= h >> np.uint64(31)
    return h


def ricker(frequency: float, dt_s: float) -> np.ndarray:
    """A zero-phase Ricker wavelet of peak ``frequency`` Hz, unit peak, odd length."""
    half = math.ceil(3.0 / (math.pi * frequency * dt_s))
    a = (math.pi * frequency * dt_s * np.arange(-half, half + 1)) ** 2
    return ((1 - 2 * a) * np.exp(-a)).astype(np.float32)


class Geology:
    """One random geology; :meth:`block` renders any range of inlines of it."""

    def __init__(self, params: SynthParams) -> None:
        p = self.params = params
        rng = np.random.default_rng(p.seed)
        self.styles = facies_styles(p.n_facies)
        self.class_names = [s.name for s in self.styles]
        nil, nxl, ns = p.shape
        size = max(nil, nxl)
        self.fold_amp = p.fold * ns
        # folds: a few long-wavelength cosines, bounded by 1
        self.fold_waves = _waves(rng, 3, 0.5 / size, 1.5 / size)
        # normal faults: strike normal (ci, cj), position p0, heave (traces), throw (samples)
        self.faults: list[Fault] = []
        for _ in range(p.n_faults):
            theta = rng.uniform(0, np.pi)
            ci, cj = math.cos(theta), math.sin(theta)
            p0 = ci * rng.uniform(0.3, 0.7) * nil + cj * rng.uniform(0.3, 0.7) * nxl
            heave = 0.25 * min(nil, nxl) * rng.uniform(0.7, 1.3)
            self.faults.append(Fault(ci, cj, p0, heave, p.throw * ns * rng.uniform(0.7, 1.3)))
        throw_total = sum(f.throw for f in self.faults)
        # layer bases on the unfolded stratal axis; layers 0 and n-1 reach beyond the cube
        n = p.layers
        # interior layers lie where every fault block sees them; at least half the cube
        lo, hi = 0.5 * self.fold_amp + 0.02 * ns, ns - throw_total - 0.5 * self.fold_amp - 0.02 * ns
        if hi - lo < 0.5 * ns:
            lo, hi = (lo + hi - 0.5 * ns) / 2, (lo + hi + 0.5 * ns) / 2
        inner = rng.uniform(0.7, 1.3, n - 2)
        inner = lo + np.concatenate([[0], np.cumsum(inner)]) / inner.sum() * (hi - lo)
        outer = (-throw_total - 1.1 * self.fold_amp - 2, ns + 1.1 * self.fold_amp + 2)
        self.base = np.concatenate([[outer[0]], inner, [outer[1]]])  # n + 1 surfaces
        self.growth = 0.5 + 0.5 * np.clip(self.base / ns, 0, 1)  # deeper folds more
        self.undulation = np.zeros(n + 1)
        self.undulation[1:n] = 0.2 * np.diff(inner).min()
        self.horizon_waves = [_waves(rng, 2, 2.0 / size, 5.0 / size) for _ in range(n + 1)]
        self.layer_facies = _stack_facies(rng, p.n_facies, n)
        self.channels: list[Channel] = []
        for _ in range(p.n_channels):
            host = int(rng.integers(1, n - 1))
            others = [f for f in range(p.n_facies) if f != self.layer_facies[host]]
            alpha = rng.uniform(0, np.pi)
            self.channels.append(
                Channel(host, int(rng.choice(others)), math.cos(alpha), math.sin(alpha),
                 rng.uniform(0.3, 0.7) * size, rng.uniform(0.05, 0.15) * size,
                 rng.uniform(0.3, 0.7) * size, rng.uniform(0, 2 * np.pi),
                 rng.uniform(0.04, 0.08) * size, rng.uniform(0.4, 0.8))
            )  # fmt: skip
        period = 4 * max(ns, size) + 256
        self.tables = [_impedance_table(rng, s, period) for s in self.styles]
        self.means = rng.normal(0.0, 0.3, p.n_facies) * CONTRAST
        self.clino_dir = rng.uniform(0, 2 * np.pi, p.n_facies)
        self.salt = int(rng.integers(2**62))
        self.wavelet = ricker(p.frequency, p.sample_interval / 1000.0)
        # reference reflectivity: a unit-gain facies sampled once per sample
        ref = 0.5 * CONTRAST * np.diff(self.tables[0][::RES]).std() / self.styles[0].gain
        self.r_ref = float(ref)
        self.scale = float(1.0 / (ref * np.linalg.norm(self.wavelet)))

    def block(self, i0: int, i1: int) -> tuple[np.ndarray, np.ndarray]:
        """Amplitude (float32) and labels (int16) of inlines ``i0:i1``, all crosslines."""
        nxl = self.params.n_crosslines
        ii, jj = np.meshgrid(np.arange(i0, i1, dtype=np.float64), np.arange(nxl), indexing="ij")
        return self.traces(ii, jj)

    def traces(self, ii: np.ndarray, jj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Amplitude and labels of the traces at inline and crossline indices ``ii``, ``jj``
        (2-D arrays of one shape): any set of traces (a crossline, a few sections) agrees
        exactly with the same traces of the whole cube."""
        ns = self.params.n_samples
        ii, jj = np.asarray(ii, dtype=np.float64), np.asarray(jj, dtype=np.float64)
        z = np.arange(ns, dtype=np.float32)
        zeff = np.broadcast_to(z, (*ii.shape, ns)).copy()
        for f in self.faults:
            plane = (ii * f.ci + jj * f.cj - f.p0).astype(np.float32)[..., None]
            zeff -= np.float32(f.throw) * (plane > np.float32(f.heave / ns) * (z - ns / 2))
        fold = _evaluate(self.fold_waves, ii, jj)
        surfaces = np.stack(
            [
                b + self.fold_amp * g * fold + u * _evaluate(w, ii, jj)
                for b, g, u, w in zip(
                    self.base, self.growth, self.undulation, self.horizon_waves, strict=True
                )
            ],
            axis=-1,
        ).astype(np.float32)
        layer = np.zeros(zeff.shape, dtype=np.int16)
        for b in range(1, surfaces.shape[-1] - 1):
            layer += zeff >= surfaces[..., b : b + 1]
        top = np.take_along_axis(surfaces, layer, axis=-1)
        frac = (zeff - top) / (np.take_along_axis(surfaces, layer + 1, axis=-1) - top)
        labels = self.layer_facies[layer]
        for ch in self.channels:
            u, v = ii * ch.ca + jj * ch.sa, -ii * ch.sa + jj * ch.ca
            d = (v - ch.c - ch.amp * np.sin(2 * np.pi * u / ch.wavelength + ch.phase)) / ch.width
            inside = np.abs(d) < 1
            if inside.any():
                floor = (1 - ch.depth * np.clip(1 - d * d, 0, None)).astype(np.float32)
                cut = (layer == ch.host) & (frac > floor[..., None]) & inside[..., None]
                labels[cut] = ch.facies
        thick = np.diff(self.base).astype(np.float32)
        strat = self.base[:-1].astype(np.float32)[layer] + frac * thick[layer]
        impedance = self._impedance(labels, strat, frac, thick[layer], ii, jj)
        trace = ii.astype(np.uint64) * np.uint64(self.params.n_crosslines) + jj.astype(np.uint64)
        return self._seismic(impedance, trace), labels

    def _impedance(self, labels, strat, frac, thick, ii, jj) -> np.ndarray:
        """Log-impedance of every sample: its facies' series read at a stratal phase."""
        out = np.empty(labels.shape, dtype=np.float32)
        shape = labels.shape
        for f, style in enumerate(self.styles):
            m = labels == f
            if not m.any():
                continue
            q, amp = strat[m].astype(np.float64), 1.0
            if style.dip:  # sigmoidal clinoforms prograding along clino_dir
                u = np.broadcast_to((ii * math.cos(self.clino_dir[f]))[..., None], shape)[m]
                u += np.broadcast_to((jj * math.sin(self.clino_dir[f]))[..., None], shape)[m]
                x = np.clip(frac[m], 0.02, 0.98).astype(np.float64)
                q = style.dip * u - 0.5 * style.dip * thick[m] * np.log(x / (1 - x))
            if style.chaos:  # short segments, each shifted, tilted and scaled at random
                ci = np.broadcast_to(ii[..., None], shape)[m].astype(np.int64)
                cj = np.broadcast_to(jj[..., None], shape)[m].astype(np.int64)
                ck = np.floor(q / CELL_T).astype(np.int64)
                salt = self.salt + 3 * f
                shift = style.chaos * (2 * hash_uniform(salt, ci // CELL, cj // CELL, ck) - 1)
                tilt = 2 * hash_uniform(salt + 1, ci // CELL, cj // CELL, ck) - 1
                amp = 0.3 + 1.4 * hash_uniform(salt + 2, ci // CELL, cj // CELL, ck)
                q = q + shift + tilt * (ci % CELL + cj % CELL - CELL + 1)
            table = self.tables[f]
            idx = np.floor(q * RES).astype(np.int64) % len(table)
            out[m] = self.means[f] + CONTRAST * style.gain * amp * table[idx]
        return out

    def _seismic(self, impedance: np.ndarray, trace: np.ndarray) -> np.ndarray:
        """Reflectivity plus noise, convolved with the wavelet, scaled to about unit RMS."""
        ns = impedance.shape[-1]
        refl = np.zeros_like(impedance)
        np.subtract(impedance[..., 1:], impedance[..., :-1], out=refl[..., 1:])
        refl *= np.float32(0.5)
        if self.params.noise:
            refl += np.float32(self.params.noise * self.r_ref) * self._noise(trace, ns)
        half = len(self.wavelet) // 2
        padded = np.zeros((*impedance.shape[:-1], ns + 2 * half), dtype=np.float32)
        padded[..., half : half + ns] = refl
        out = np.zeros_like(refl)
        tmp = np.empty_like(refl)
        for t, w in enumerate(self.wavelet[::-1]):
            np.multiply(padded[..., t : t + ns], w, out=tmp)
            out += tmp
        out *= np.float32(self.scale)
        return out

    def _noise(self, trace: np.ndarray, ns: int) -> np.ndarray:
        """Approximately Gaussian unit noise, a pure function of the global sample index
        (``trace``: global trace indices, inline * n_crosslines + crossline)."""
        h = trace[..., None] * np.uint64(ns) + np.arange(ns, dtype=np.uint64)
        h *= _KEYS[0]
        h += np.uint64(self.salt)
        _mix(h)
        mask = np.uint64(0xFFFF)
        total = (h & mask).astype(np.float32)
        for shift in (16, 32, 48):
            total += ((h >> np.uint64(shift)) & mask).astype(np.float32)
        return (total * np.float32(1 / 65536) - np.float32(2)) * np.float32(math.sqrt(3))


def _waves(rng: np.random.Generator, n: int, kmin: float, kmax: float) -> np.ndarray:
    """Random plane cosines: rows (ki, kj, phase, weight), weights summing to 1."""
    k = 2 * np.pi * rng.uniform(kmin, kmax, n)
    angle = rng.uniform(0, 2 * np.pi, n)
    weight = rng.uniform(0.5, 1.0, n) * rng.choice([-1, 1], n)
    weight /= np.abs(weight).sum()
    return np.stack([k * np.cos(angle), k * np.sin(angle), rng.uniform(0, 2 * np.pi, n), weight])


def _evaluate(waves: np.ndarray, ii: np.ndarray, jj: np.ndarray) -> np.ndarray:
    return sum(w * np.cos(a * ii + b * jj + p) for a, b, p, w in waves.T)


def _stack_facies(rng: np.random.Generator, n_facies: int, n_layers: int) -> np.ndarray:
    """Facies of each layer: every facies in a full interior layer, no two neighbours alike.

    The top and bottom layers are cut by the cube's edges, so they only repeat facies.
    """
    stack = [int(f) for f in rng.permutation(n_facies)]
    for _ in range(n_layers - 2 - n_facies):
        for pos in rng.permutation(len(stack) + 1):  # the two ends always have a choice
            near = set(stack[max(pos - 1, 0) : pos + 1])
            free = [f for f in range(n_facies) if f not in near]
            if free:
                stack.insert(int(pos), int(rng.choice(free)))
                break
    top = int(rng.choice([f for f in range(n_facies) if f != stack[0]]))
    bottom = int(rng.choice([f for f in range(n_facies) if f != stack[-1]]))
    return np.asarray([top, *stack, bottom], dtype=np.int16)


def _impedance_table(rng: np.random.Generator, style: FaciesStyle, period: int) -> np.ndarray:
    """A periodic, piecewise-constant log-impedance series, ``RES`` entries per sample."""
    n_beds = int(3 * period / style.bed) + 2
    # alternating beds (sand/shale), thickness from a gamma law: regular if cyclic
    shape, low = (20.0, 0.7) if style.cyclic else (4.0, 0.3)
    thick = np.maximum(rng.gamma(shape, style.bed / shape, n_beds), 0.5)
    values = np.where(np.arange(n_beds) % 2, 1.0, -1.0) * rng.uniform(low, 1.0, n_beds)
    edges = np.cumsum(thick) * RES
    table = values[np.searchsorted(edges, np.arange(period * RES), side="right")]
    return (table / table.std()).astype(np.float32)
