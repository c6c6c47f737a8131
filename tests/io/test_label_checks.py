"""Labels outside the class list are refused at ingest, with the values found and the fix,
before anything is written; .npy label files are read as arrays only, never unpickled."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from facies.errors import ConfigError, GeometryError, OptionError
from facies.io import write_segy_like
from facies.io.labels import check_labels
from facies.io.store import ingest_segy, open_survey
from facies.names import LABELS
from tests.helpers import facies

SHAPE = (5, 4, 8)
NAMES = ["a", "b", "c", "d", "e", "f"]


def _labels(*extra: int) -> np.ndarray:
    """Class ids 0..5 everywhere, and ``extra`` ids in the first samples of trace (0, 0)."""
    labels = (np.arange(np.prod(SHAPE)) % 6).reshape(SHAPE).astype(np.int64)
    for k, value in enumerate(extra):
        labels[0, 0, k] = value
    return labels


def _ingest(make_segy, tmp_path, labels: np.ndarray, **options):
    np.save(tmp_path / "l.npy", labels)
    return ingest_segy(make_segy(), tmp_path / "s.zarr", labels=tmp_path / "l.npy", **options)


def _nothing_written(tmp_path) -> bool:
    return sorted(p.name for p in tmp_path.iterdir()) == ["cube.sgy", "l.npy"]


# ------------------------------------------------------------------ ids vs class names


def test_an_id_beyond_the_class_names_is_refused(make_segy, tmp_path):
    with pytest.raises(OptionError, match=r"class ids 17, but classes lists 6 names") as err:
        _ingest(make_segy, tmp_path, _labels(17).astype(np.int16), class_names=NAMES)
    assert "ids found are 0, 1, 2, 3, 4, 5, 17" in str(err.value)
    assert "set ignore_label=17" in str(err.value)
    assert _nothing_written(tmp_path)
    survey = open_survey(
        _ingest(make_segy, tmp_path, _labels(17), class_names=NAMES, ignore_label=17)
    )
    assert survey.attrs["class_names"] == NAMES and len(survey.attrs["class_counts"]) == 6


def test_more_class_names_than_classes_are_refused():
    with pytest.raises(OptionError, match=r"classes lists 8 names, but the labels hold ids "):
        check_labels(np.arange(6), [*NAMES, "g", "h"], None, "l.npy")
    with pytest.raises(OptionError, match=r"no sample is of class 'g', 'h'.*0\.\.5 \(6 names\)"):
        check_labels(np.arange(6), [*NAMES, "g", "h"], None, "l.npy")
    check_labels(np.array([0, 1, 3, 5]), NAMES, None, "l.npy")  # absent classes inside: fine


def test_duplicate_or_no_class_names_are_refused():
    with pytest.raises(OptionError, match=r"classes repeats class names: 'a' \(2 times\)"):
        check_labels(np.arange(3), ["a", "b", "a"], None, "l.npy")
    with pytest.raises(OptionError, match=r"classes is an empty list"):
        check_labels(np.arange(3), [], None, "l.npy")


def test_an_ignore_label_that_names_a_class_is_refused(make_segy, tmp_path):
    with pytest.raises(OptionError, match=r"ignore_label=2 is the id of class 'c'"):
        _ingest(make_segy, tmp_path, _labels(), class_names=NAMES, ignore_label=2)
    assert _nothing_written(tmp_path)
    check_labels(np.arange(6), NAMES, -1, "l.npy")
    check_labels(np.arange(7), NAMES, 6, "l.npy")


# ------------------------------------------------------------------ undefined codes


def test_an_undefined_code_without_class_names_is_refused(make_segy, tmp_path):
    with pytest.raises(OptionError, match=r"ids 0, 1, 2, 3, 4, 5, 30000: .*30,001 classes") as e:
        _ingest(make_segy, tmp_path, _labels(30000))
    assert "set ignore_label=30000" in str(e.value)
    assert _nothing_written(tmp_path)
    survey = open_survey(_ingest(make_segy, tmp_path, _labels(30000), ignore_label=30000))
    assert len(survey.attrs["class_counts"]) == 6


@pytest.mark.parametrize(
    ("ids", "refused"),
    [
        (list(range(100)), False),  # 100 classes, all present
        ([*range(41), 70], False),  # 71 implied, 42 present: more than half
        ([*range(6), 70], True),  # 71 implied, 7 present
        ([0, 1, 2, 255], True),  # the classic uint8 'undefined'
        ([0, 1, 2, 63], False),  # small: read as classes
        (list(range(300)), True),  # more than 256 classes
    ],
)
def test_the_undefined_code_rule(ids, refused):
    if refused:
        with pytest.raises(OptionError, match=rf"If {ids[-1]} marks unlabelled samples"):
            check_labels(np.array(ids), None, None, "l.npy")
    else:
        check_labels(np.array(ids), None, None, "l.npy")


# ------------------------------------------------------------------ values that do not fit


def test_ids_above_int16_are_refused_not_wrapped(make_segy, tmp_path):
    labels = _labels(40000, 70000)
    with pytest.raises(OptionError, match=r"class ids above 32767 \(40000, 70000\)"):
        _ingest(make_segy, tmp_path, labels)
    assert _nothing_written(tmp_path)
    with pytest.raises(OptionError, match=r"ignore_label=40000 does not fit the store's 16-bit"):
        _ingest(make_segy, tmp_path, labels, ignore_label=40000)


def test_negative_ids_name_the_ignore_option(make_segy, tmp_path):
    with pytest.raises(OptionError, match=r"negative class ids \(-5, -1\).*ignore_label=-5"):
        _ingest(make_segy, tmp_path, _labels(-1, -5))


@pytest.mark.parametrize("value", ["abc", 2.5, True])
def test_ignore_label_must_be_a_whole_number(make_segy, tmp_path, value):
    with pytest.raises(OptionError, match=r"must be a whole number"):
        _ingest(make_segy, tmp_path, _labels(), ignore_label=value)


def test_segy_labels_are_checked_as_numbers_not_after_a_cast(make_segy, tmp_path):
    seismic = make_segy()
    labels = _labels(40000).astype(np.float32)
    write_segy_like(seismic, labels, tmp_path / "labels.sgy")
    with pytest.raises(OptionError, match=r"above 32767 \(40000\)"):
        ingest_segy(seismic, tmp_path / "s.zarr", labels=tmp_path / "labels.sgy")
    labels[0, 0, 0] = 1.5
    write_segy_like(seismic, labels, tmp_path / "half.sgy")
    with pytest.raises(ConfigError, match=r"whole numbers \(class ids\); found 1.5"):
        ingest_segy(seismic, tmp_path / "s.zarr", labels=tmp_path / "half.sgy")


def test_labels_of_traces_that_are_not_live_are_not_checked(make_segy, tmp_path):
    live = np.ones(SHAPE[:2], dtype=bool)
    live[0, 0] = False
    seismic = make_segy(live=live)
    labels = _labels(30000, -7, 99999)  # junk where trace (0, 0) is missing
    np.save(tmp_path / "l.npy", labels)
    survey = open_survey(ingest_segy(seismic, tmp_path / "s.zarr", labels=tmp_path / "l.npy"))
    assert len(survey.attrs["class_counts"]) == 6
    assert (survey[LABELS].values[0, 0] == 0).all()


# ------------------------------------------------------------------ .npy files


def test_a_file_that_is_no_npy_array_is_one_line(make_segy, tmp_path):
    seismic = make_segy()
    for name, content in (("text.npy", b"class ids, one per line\n1\n2\n"), ("empty.npy", b"")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ConfigError, match=r"is not a \.npy array file .*np\.save") as err:
            ingest_segy(seismic, tmp_path / "s.zarr", labels=tmp_path / name)
        assert "\n" not in str(err.value) and "allow_pickle" not in str(err.value)
    np.savez(tmp_path / "zipped.npz", labels=_labels())
    (tmp_path / "zipped.npz").rename(tmp_path / "zipped.npy")
    with pytest.raises(ConfigError, match=r"is not a \.npy array file"):
        ingest_segy(seismic, tmp_path / "s.zarr", labels=tmp_path / "zipped.npy")


def test_a_truncated_npy_is_one_line(make_segy, tmp_path):
    np.save(tmp_path / "l.npy", _labels().astype(np.int16))
    raw = (tmp_path / "l.npy").read_bytes()
    (tmp_path / "l.npy").write_bytes(raw[:200])
    with pytest.raises(ConfigError, match=r"cannot read the \.npy array .*truncated"):
        ingest_segy(make_segy(), tmp_path / "s.zarr", labels=tmp_path / "l.npy")


class _Payload:
    """Unpickling it would create a file: the proof that nothing was unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (self.marker.__class__.touch, (self.marker,))


def test_pickled_labels_are_refused_and_never_unpickled(make_segy, tmp_path):
    marker = tmp_path / "unpickled"
    objects = np.empty(SHAPE, dtype=object)
    objects[...] = 0
    objects[0, 0, 0] = _Payload(marker)
    np.save(tmp_path / "objects.npy", objects, allow_pickle=True)
    with pytest.raises(ConfigError, match=r"holds Python objects \(object\).*never loads pickled"):
        ingest_segy(make_segy(), tmp_path / "s.zarr", labels=tmp_path / "objects.npy")
    (tmp_path / "plain.npy").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ConfigError, match=r"is not a \.npy array file"):
        ingest_segy(make_segy(), tmp_path / "s.zarr", labels=tmp_path / "plain.npy")
    assert not marker.exists()


def test_npy_shape_and_dtype_are_still_checked(make_segy, tmp_path):
    np.save(tmp_path / "l.npy", np.zeros((5, 4, 7), np.int16))
    with pytest.raises(GeometryError, match=r"labels of shape \(5, 4, 7\) do not fit"):
        ingest_segy(make_segy(), tmp_path / "s.zarr", labels=tmp_path / "l.npy")
    np.save(tmp_path / "l.npy", np.zeros(SHAPE, np.float32))
    with pytest.raises(ConfigError, match=r"labels must be integers, not float32"):
        ingest_segy(make_segy(), tmp_path / "s.zarr", labels=tmp_path / "l.npy")


# ------------------------------------------------------------------ the command line


def test_each_job_names_its_own_option_keys():
    from facies.cli import error_text

    with pytest.raises(OptionError) as err:
        check_labels(np.array([0, 1, 17]), ["a", "b"], None, "l.npy")
    assert "set ignore_label=17" in error_text("ingest", err.value)
    assert "set data.ignore_label=17" in error_text("train", err.value)
    assert "data.classes lists 2 names" in error_text("train", err.value)


def test_ingest_command_refuses_in_one_line(make_segy, tmp_path):
    np.save(tmp_path / "l.npy", _labels(30000))
    run = facies("ingest", f"input={make_segy()}", f"labels={tmp_path / 'l.npy'}",
                 f"output={tmp_path / 's.zarr'}", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 2, run.stderr[-2000:]
    assert "Traceback" not in run.stderr and "ignore_label=30000" in run.stderr
    assert not (tmp_path / "s.zarr").exists()
