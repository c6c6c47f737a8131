"""Where facies writes what a user points it at: one output-safety rule for every job.

The rule (``facies ingest output=``, ``facies predict output=`` and ``store=``,
``facies synth output=``, :func:`facies.io.segy.writer.write_segy_like`):

- An output is never an input of the run, a folder holding one, or a path inside one
  (paths resolved, symlinks followed, hard links recognised).
- ``overwrite=true`` replaces only what facies itself made and can recognise as such:
  a survey or prediction store carrying facies' attributes, a SEG-Y file carrying
  facies' mark in its textual header (:func:`is_facies_segy`), a synthetic survey
  folder holding only facies' files. Anything else is the user's and is refused.
- Outputs are checked before any work starts (:func:`prepare_output`): the folder
  exists or can be made, a file can be created in it, a file is not asked for where a
  folder stands (or the reverse), and the disk has room for what is known to come.
- A disk that fills while writing (``ENOSPC``, ``EDQUOT``) leaves nothing half-made
  (writers write into temporary files and folders, removed on failure) and ends in one
  :class:`DiskFullError` line naming the path and the free space
  (:func:`writing_to`).
- Nothing is ever moved aside into hidden files: a facies output is replaced by
  deleting it once its replacement is complete, then renaming the replacement.

Every refusal is a :class:`facies.errors.OutputError` whose message names the path and
the fix. This module is light (no xarray, no zarr): it reads stores' metadata as JSON.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from facies.errors import OutputError

log = logging.getLogger(__name__)

#: What kind of thing an output is.
FILE, STORE, FOLDER = "file", "store", "folder"

#: Attributes only facies puts on a store's root group: a survey store's record
#: (:data:`facies.io.store.STORE_RECORD`), a prediction store's id
#: (:data:`facies.inference.prediction_store.STORE_ID`), and the attributes every survey
#: store written before the record existed carries (all of them together).
SURVEY_STORE_MARK = "facies_store"
PREDICTION_STORE_MARK = "prediction_id"
LEGACY_SURVEY_MARKS = ("source", "textual_header", "iline_byte", "amplitude_percentiles")

#: The line facies writes into the textual header of every SEG-Y file it makes from a
#: template (the last of the 40 cards), and what recognises it.
SEGY_MARK = "FACIES OUTPUT"
SEGY_MARK_LINE = f"C40 {SEGY_MARK}: written by facies; facies may replace this file"
TEXT_HEADER_BYTES = 3200
CARD = 80

DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
NOT_WRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


class DiskFullError(OutputError):
    """The disk filled up while an output was written (nothing was left behind)."""


def resolved(path: str | os.PathLike) -> Path:
    """The absolute path with every symlink followed (the path need not exist)."""
    return Path(path).expanduser().resolve()


def human_size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


def free_space(path: str | os.PathLike) -> int | None:
    """Free bytes on the disk of ``path`` (its nearest existing folder), or None."""
    folder = Path(path).expanduser().absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


# ------------------------------------------------------------------ inputs are never outputs


def check_not_input(
    output: str | os.PathLike, inputs: Iterable[str | os.PathLike | None], key: str = "output"
) -> None:
    """Refuse an output that is an input of the run, a folder holding one, or lies inside
    one (a store given as input). ``inputs`` may hold None (an option not set)."""
    out = resolved(output)
    for given in inputs:
        if given is None or str(given) == "":
            continue
        inp = resolved(given)
        same = out == inp
        if not same and out.exists() and inp.exists():
            try:
                same = os.path.samefile(out, inp)
            except OSError:
                same = False
        if same:
            what = "is"
        elif out in inp.parents:
            what = "is a folder holding"
        elif inp in out.parents:
            what = "lies inside"
        else:
            continue
        raise OutputError(
            f"{key}={output} {what} {given}, an input of this run; facies never writes "
            f"over its inputs, even with overwrite=true: choose another {key}=."
        )


# ------------------------------------------------------------------ what facies made


def store_attributes(path: str | os.PathLike) -> dict | None:
    """The attributes of the zarr group at ``path`` (zarr 3 ``zarr.json`` or zarr 2
    ``.zattrs``), read as JSON; None where ``path`` is no zarr group."""
    path = Path(path)
    try:
        if (path / "zarr.json").is_file():
            meta = json.loads((path / "zarr.json").read_text())
            if meta.get("node_type") != "group":
                return None
            return dict(meta.get("attributes") or {})
        if (path / ".zgroup").is_file():
            attrs = path / ".zattrs"
            return dict(json.loads(attrs.read_text())) if attrs.is_file() else {}
    except (OSError, ValueError, AttributeError, TypeError):
        return None
    return None


def is_facies_survey_store(path: str | os.PathLike) -> bool:
    """A survey store made by ``facies ingest`` (or by training on first use)."""
    attrs = store_attributes(path)
    if attrs is None:
        return False
    return SURVEY_STORE_MARK in attrs or all(k in attrs for k in LEGACY_SURVEY_MARKS)


def is_facies_prediction_store(path: str | os.PathLike) -> bool:
    """A prediction store made by ``facies predict``."""
    attrs = store_attributes(path)
    return attrs is not None and PREDICTION_STORE_MARK in attrs


def text_encoding(head: bytes) -> str:
    """``cp037`` (EBCDIC) or ``latin-1``: the one the textual header reads plainer in."""
    from facies.io.segy.layout import plain_characters

    ebcdic, ascii_ = head.decode("cp037"), head.decode("latin-1")
    return "cp037" if plain_characters(ebcdic) > plain_characters(ascii_) else "latin-1"


def mark_textual_header(head: bytearray) -> None:
    """Write facies' mark into the last card of a 3200-byte textual header (in place,
    in the header's own encoding, EBCDIC or ASCII)."""
    encoding = text_encoding(bytes(head[:TEXT_HEADER_BYTES]))
    line = SEGY_MARK_LINE[:CARD].ljust(CARD).encode(encoding)
    head[TEXT_HEADER_BYTES - CARD : TEXT_HEADER_BYTES] = line


def is_facies_segy(path: str | os.PathLike) -> bool:
    """Whether the SEG-Y file at ``path`` was written by facies (its mark is in the last
    card of its textual header). The one place that recognises facies' SEG-Y outputs."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(TEXT_HEADER_BYTES)
    except OSError:
        return False
    if len(head) < TEXT_HEADER_BYTES:
        return False
    card = head[-CARD:].decode(text_encoding(head))
    return SEGY_MARK in card


def made_by_facies(path: str | os.PathLike) -> str | None:
    """What facies output ``path`` is (``"survey store"``, ``"prediction store"``,
    ``"facies SEG-Y file"``), or None for anything facies did not make."""
    path = Path(path)
    if path.is_dir():
        if is_facies_survey_store(path):
            return "survey store"
        if is_facies_prediction_store(path):
            return "prediction store"
        return None
    if path.is_file() and is_facies_segy(path):
        return "facies SEG-Y file"
    return None


# ------------------------------------------------------------------ checked before work


def prepare_output(
    path: str | os.PathLike,
    *,
    kind: str,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike | None] = (),
    key: str = "output",
    need_bytes: int | None = None,
    replaceable: str | tuple[str, ...] | None = None,
) -> Path:
    """Check, before any work, that ``path`` may be written; make its folder.

    Args:
        path: the output (a file, or a store folder).
        kind: :data:`FILE` or :data:`STORE`.
        overwrite: an existing output may be replaced (only if facies made it).
        inputs: every input path of the run (None entries are skipped).
        key: the option that named the output (``output``, ``store``), for messages.
        need_bytes: about how much will be written, checked against the free space.
        replaceable: what :func:`made_by_facies` must say of an existing output for
            ``overwrite`` to replace it (default: any facies output of ``kind``).

    Returns:
        ``path`` (as a Path).

    Raises:
        OutputError: with the path and the fix.
    """
    path = Path(path).expanduser()
    check_not_input(path, inputs, key)
    exists = path.exists() or path.is_symlink()
    if exists:
        target = resolved(path)
        if kind == FILE and target.is_dir():
            raise OutputError(
                f"{key}={path} is a folder; {key}= names the file to write, e.g. "
                f"{key}={path / 'facies.sgy'}."
            )
        if kind == STORE and target.exists() and not target.is_dir():
            raise OutputError(
                f"{key}={path} is a file, not a store folder; choose another {key}= "
                "(a new name ending in .zarr)."
            )
        if not overwrite:
            raise OutputError(
                f"{key}={path} exists; pass overwrite=true to replace it (facies replaces "
                f"only its own outputs), or choose another {key}=."
            )
        what = made_by_facies(target)
        allowed = (replaceable,) if isinstance(replaceable, str) else replaceable
        if what is None or (allowed is not None and what not in allowed):
            made = f"a {what}" if what else "not made by facies"
            raise OutputError(
                f"{key}={path} exists and is {made}; overwrite=true replaces only "
                f"{'a ' + ' or a '.join(allowed) if allowed else 'what facies itself made'}: "
                "choose "
                f"another {key}=, or move {path} away yourself."
            )
    folder = path.parent if path.parent != Path("") else Path(".")
    ensure_writable(folder, key=key, path=path)
    if need_bytes:
        check_space(folder, need_bytes, key=key, path=path)
    return path


def ensure_writable(folder: str | os.PathLike, *, key: str = "output", path=None) -> Path:
    """Make ``folder`` if needed and prove a file can be created in it (and removed)."""
    folder = Path(folder)
    path = folder if path is None else path
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{key}={path}: {folder} is a file, not a folder; choose another {key}=.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as err:
        raise OutputError(
            f"{key}={path}: cannot make the folder {folder}: a file stands in its way "
            f"({err.filename}); choose another {key}=."
        ) from None
    except OSError as err:
        raise OutputError(
            f"{key}={path}: cannot make the folder {folder} ({err.strerror or err}); choose "
            f"another {key}= in a folder you can write to."
        ) from None
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".facies-probe-", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        if err.errno in DISK_FULL:
            free = human_size(free_space(folder) or 0)
            raise DiskFullError(
                f"{key}={path}: the disk of {folder} is full ({free} free); free some space "
                f"or choose another {key}=."
            ) from None
        raise OutputError(
            f"{key}={path}: cannot write in {folder} ({err.strerror or err}); make it "
            f"writable or choose another {key}=."
        ) from None
    return folder


def check_space(folder: str | os.PathLike, need: int, *, key: str = "output", path=None) -> None:
    """Refuse to start a write of about ``need`` bytes the disk of ``folder`` cannot hold."""
    free = free_space(folder)
    if free is not None and need > free:
        raise DiskFullError(
            f"{key}={path or folder} needs about {human_size(need)} and {folder} has "
            f"{human_size(free)} free; free some space or choose another {key}=."
        )


# ------------------------------------------------------------------ while writing


def output_error(err: OSError, path: str | os.PathLike, key: str = "output") -> OutputError | None:
    """The :class:`OutputError` an ``OSError`` raised while writing ``path`` stands for
    (a full disk, a folder made read-only), or None for any other error."""
    if err.errno in DISK_FULL:
        free = free_space(Path(path).parent)
        return DiskFullError(
            f"{key}={path}: the disk filled up while writing it ({human_size(free or 0)} free "
            f"now); nothing was left at {path}: free some space or choose another {key}=."
        )
    if err.errno in NOT_WRITABLE:
        return OutputError(
            f"{key}={path}: writing failed ({err.strerror or err}); nothing was left at "
            f"{path}: make its folder writable or choose another {key}=."
        )
    return None


@contextmanager
def writing_to(path: str | os.PathLike, key: str = "output") -> Iterator[None]:
    """Turn a full disk (or a write refused) inside the block into one OutputError line.

    Wrap the writer from outside its temporary-file handling, so that the temporary
    files are gone when the error is raised.
    """
    try:
        yield
    except OSError as err:
        error = output_error(err, path, key)
        if error is None:
            raise
        raise error from None


# ------------------------------------------------------------------ replacing and leftovers


def remove_store(path: str | os.PathLike) -> None:
    """Delete a store folder, its root metadata last: a removal cut short leaves a store
    still recognisable as facies' (and refused as incomplete when opened)."""
    path = Path(path)
    last = [path / name for name in (".zattrs", ".zgroup", "zarr.json")]
    for entry in sorted(path.iterdir()):
        if entry in last:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for entry in last:
        entry.unlink(missing_ok=True)
    path.rmdir()


def replace_with(tmp: str | os.PathLike, out: str | os.PathLike) -> None:
    """Put the complete folder ``tmp`` at ``out``: an existing ``out`` (checked to be
    facies' before the work began) is deleted first, never moved aside."""
    tmp, out = Path(tmp), Path(out)
    if out.is_symlink() or out.is_file():
        out.unlink()
    elif out.exists():
        remove_store(out)
    os.replace(tmp, out)


def temporaries(target: str | os.PathLike) -> list[Path]:
    """Hidden temporary files or folders of interrupted writes of ``target``
    (``.<name>.<8 hex digits>.tmp`` beside it)."""
    target = Path(target)
    if not target.parent.is_dir():
        return []
    found = []
    for entry in target.parent.glob(f".{target.name}.*.tmp"):
        middle = entry.name[len(target.name) + 2 : -len(".tmp")]
        if len(middle) == 8 and all(c in "0123456789abcdef" for c in middle):
            found.append(entry)
    return sorted(found)
