"""Labels drawn on a few sections: one image or array per inline or crossline.

Many interpreters label sections one at a time, in a drawing tool or an interpretation
package, and export each as a picture. A folder given as ``labels=`` holds:

- ``inline_<number>.<ext>`` and ``crossline_<number>.<ext>``: one labelled section
  each, named by its line number in the survey's headers (``inline_300.png``). Rows
  are samples (the first row the first sample), columns the traces along the section
  in increasing line number: ``samples x crosslines`` for an inline,
  ``samples x inlines`` for a crossline.
  ``.npy`` files hold class ids (integers; negative: unlabelled); images (``.png``,
  ``.tif``, ``.bmp``) hold colours that the legend maps to classes.
- ``legend.csv`` (needed for images): ``id,name,R,G,B``, a row per class, the same table
  ``facies predict`` writes beside its SEG-Y (``*.colours.csv``), so a predicted section
  can be corrected and given back as labels. Fully transparent pixels, and pixels of a
  colour whose name is ``unlabelled``, are unlabelled.

Everything off the drawn sections is unlabelled, as are the negative values of arrays:
they become :data:`UNLABELLED` (-1), so the ingest asks for ``ignore_label=-1``. Where an
inline and a crossline cross, both must give the same class to a sample both label.
A colour the legend lacks (a smoothed edge, a lossy format) is refused, with its pixel
count, never guessed.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facies.errors import ConfigError, GeometryError

#: Label value of every sample no section labels.
UNLABELLED = -1
#: File endings read as images (lossless formats only) and as arrays.
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".bmp")
ARRAY_SUFFIXES = (".npy",)
LEGEND = "legend.csv"
NAME = re.compile(r"^(inline|crossline)_(-?\d+)$", re.IGNORECASE)
#: How many unknown colours an error message quotes.
QUOTED = 5


@dataclass(frozen=True)
class Section:
    """One labelled section: its direction, line number and class ids (samples, traces)."""

    kind: str  # "inline" or "crossline"
    number: int
    ids: np.ndarray
    path: Path


def is_section_folder(path: Path) -> bool:
    return path.is_dir()


def read_legend(path: Path) -> tuple[dict[tuple[int, int, int], int], list[str]]:
    """``legend.csv``: {(R, G, B): class id} and the class names by id.

    Rows named ``unlabelled`` map their colour to :data:`UNLABELLED`."""
    try:
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the legend ({err.strerror}).") from None
    need = {"id", "name", "R", "G", "B"}
    if not rows or not need <= set(rows[0]):
        raise ConfigError(
            f"{path}: a legend needs the columns id,name,R,G,B (one row per class, as in the "
            "*.colours.csv that facies predict writes); found "
            f"{','.join(rows[0]) if rows else 'no rows'}."
        )
    colours: dict[tuple[int, int, int], int] = {}
    names: dict[int, str] = {}
    for line, row in enumerate(rows, start=2):
        try:
            rgb = tuple(int(row[c]) for c in "RGB")
            class_id = int(row["id"])
        except (TypeError, ValueError):
            raise ConfigError(
                f"{path}, line {line}: id, R, G and B must be whole numbers; found {row}."
            ) from None
        name = (row["name"] or "").strip()
        unlabelled = name.lower() in ("unlabelled", "unlabeled")
        if rgb in colours:
            raise ConfigError(f"{path}, line {line}: colour {rgb} is listed twice.")
        colours[rgb] = UNLABELLED if unlabelled else class_id
        if not unlabelled:
            names[class_id] = name
    ordered = [names[k] for k in sorted(names)]
    if sorted(names) != list(range(len(names))):
        raise ConfigError(
            f"{path}: class ids must count 0, 1, 2, ... without gaps; found {sorted(names)}."
        )
    return colours, ordered


def _image_ids(path: Path, colours: dict[tuple[int, int, int], int]) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        rgba = np.asarray(image.convert("RGBA"))
    rgb = rgba[..., :3].astype(np.int32)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    transparent = rgba[..., 3] == 0
    ids = np.full(packed.shape, UNLABELLED, dtype=np.int16)
    known = np.zeros(packed.shape, dtype=bool)
    for (r, g, b), class_id in colours.items():
        hit = packed == ((r << 16) | (g << 8) | b)
        ids[hit] = class_id
        known |= hit
    unknown = ~known & ~transparent
    if unknown.any():
        values, counts = np.unique(packed[unknown], return_counts=True)
        top = np.argsort(counts)[::-1][:QUOTED]
        quoted = ", ".join(
            f"({v >> 16}, {(v >> 8) & 255}, {v & 255}): {c:,} px"
            for v, c in zip(values[top], counts[top], strict=True)
        )
        raise ConfigError(
            f"{path}: {int(unknown.sum()):,} pixels have colours the legend lacks ({quoted}"
            f"{', ...' if len(values) > QUOTED else ''}). Export the section without "
            "smoothing, in a lossless format (PNG), or add the colours to legend.csv."
        )
    ids[transparent] = UNLABELLED
    return ids


def _array_ids(path: Path) -> np.ndarray:
    try:
        values = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ConfigError(
            f"{path}: not a .npy array of class ids ({str(err).splitlines()[0]}); save it "
            "with np.save(path, ids.astype(np.int16))."
        ) from None
    if values.ndim != 2 or not np.issubdtype(values.dtype, np.integer):
        raise ConfigError(
            f"{path}: a section's labels are a 2-D integer array (samples, traces); found "
            f"{values.dtype} of shape {values.shape}."
        )
    return np.where(values < 0, UNLABELLED, values).astype(np.int16)


def read_sections(folder: Path) -> tuple[list[Section], list[str] | None]:
    """The labelled sections of ``folder`` and the legend's class names (None: no legend).

    Raises:
        ConfigError: no section files, a name that is not ``inline_<n>``/``crossline_<n>``,
            a lossy format, images without a legend, colours the legend lacks.
    """
    legend = folder / LEGEND
    colours, names = read_legend(legend) if legend.exists() else (None, None)
    sections = []
    for path in sorted(folder.iterdir()):
        if path.name == LEGEND or path.name.startswith(".") or path.is_dir():
            continue
        suffix = path.suffix.lower()
        match = NAME.match(path.stem)
        if suffix in (".jpg", ".jpeg"):
            raise ConfigError(
                f"{path}: JPEG changes colours (lossy compression), so its pixels cannot be "
                "mapped to classes; export the section as PNG."
            )
        if suffix not in IMAGE_SUFFIXES + ARRAY_SUFFIXES or match is None:
            raise ConfigError(
                f"{path.name} in {folder}: section labels are named inline_<number> or "
                f"crossline_<number> with one of {', '.join(IMAGE_SUFFIXES + ARRAY_SUFFIXES)}"
                f" (and the legend is {LEGEND}); rename or remove it."
            )
        if suffix in IMAGE_SUFFIXES:
            if colours is None:
                raise ConfigError(
                    f"{path}: images need {folder / LEGEND} (id,name,R,G,B per class) to map "
                    "their colours to classes."
                )
            ids = _image_ids(path, colours)
        else:
            ids = _array_ids(path)
        sections.append(Section(match[1].lower(), int(match[2]), ids, path))
    if not sections:
        raise ConfigError(
            f"{folder} holds no labelled sections: put inline_<number>.png (or .npy) and "
            f"crossline_<number>.png files there, with {LEGEND} for images."
        )
    return sections, names


class SectionLabels:
    """Label blocks of a survey from its labelled sections (see the module doc), sliced
    along inlines like a label cube (``labels[start:stop]``, ``dtype``), so it reads
    where a ``.npy`` cube reads.

    Args:
        folder: the folder of section files.
        inlines, crosslines: the survey's line numbers, by index.
        n_samples: samples per trace.
    """

    def __init__(
        self, folder: Path, inlines: np.ndarray, crosslines: np.ndarray, n_samples: int
    ) -> None:
        self.folder = folder
        self.shape = (len(inlines), len(crosslines), n_samples)
        sections, self.names = read_sections(folder)
        il_index = {int(n): k for k, n in enumerate(inlines)}
        xl_index = {int(n): k for k, n in enumerate(crosslines)}
        self.inlines: dict[int, Section] = {}  # by inline index
        self.crosslines: dict[int, Section] = {}  # by crossline index
        for section in sections:
            numbers, held, across = (
                (il_index, self.inlines, len(crosslines))
                if section.kind == "inline"
                else (xl_index, self.crosslines, len(inlines))
            )
            if section.number not in numbers:
                lines = inlines if section.kind == "inline" else crosslines
                raise GeometryError(
                    f"{section.path}: the survey has no {section.kind} {section.number} (its "
                    f"{section.kind}s run {int(lines.min())}..{int(lines.max())}); name the "
                    "file by the line number in the survey's headers."
                )
            expected = (n_samples, across)
            if section.ids.shape != expected:
                raise GeometryError(
                    f"{section.path}: {section.ids.shape[0]} x {section.ids.shape[1]} "
                    f"(rows x columns), but {section.kind} {section.number} is {expected[0]} "
                    f"samples x {expected[1]} traces; export the whole section at one pixel "
                    "per sample and trace."
                )
            held[numbers[section.number]] = section
        self._check_crossings()

    def _check_crossings(self) -> None:
        for i, inline in self.inlines.items():
            for x, crossline in self.crosslines.items():
                a, b = inline.ids[:, x], crossline.ids[:, i]
                both = (a != UNLABELLED) & (b != UNLABELLED)
                differ = both & (a != b)
                if differ.any():
                    raise ConfigError(
                        f"{inline.path.name} and {crossline.path.name} cross at "
                        f"{int(differ.sum())} samples they label differently; correct one "
                        "of them so both give the same class where they cross."
                    )

    dtype = np.dtype(np.int16)

    def __getitem__(self, inlines: slice) -> np.ndarray:
        start, stop, step = inlines.indices(self.shape[0])
        if step != 1:
            raise IndexError("section labels are read a block of consecutive inlines at a time")
        return self.read(start, stop)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Labels of inline indices ``start:stop`` (int16; :data:`UNLABELLED` elsewhere)."""
        block = np.full((stop - start, *self.shape[1:]), UNLABELLED, dtype=np.int16)
        for x, section in self.crosslines.items():
            ids = section.ids[:, start:stop].T  # (inlines, samples)
            labelled = ids != UNLABELLED
            block[:, x][labelled] = ids[labelled]
        for i, section in self.inlines.items():
            if start <= i < stop:
                ids = section.ids.T  # (crosslines, samples)
                labelled = ids != UNLABELLED
                block[i - start][labelled] = ids[labelled]
        return block

    def labelled_lines(self) -> dict[str, list[int]]:
        """Indices of the labelled inlines and crosslines."""
        return {"inline": sorted(self.inlines), "crossline": sorted(self.crosslines)}
