"""open_segy on segyio's own test files (../shared/data/segyio-test-data)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import segyio

from facies.errors import FaciesError
from facies.io import open_segy
from facies.names import AMPLITUDE, CROSSLINE, INLINE, SAMPLE
from tests.helpers import SEGYIO_DATA


def _files(pattern: str) -> list[str]:
    if not SEGYIO_DATA.is_dir():
        return []
    return sorted(p.relative_to(SEGYIO_DATA).as_posix() for p in SEGYIO_DATA.glob(pattern))


def _segyio_cube(path: Path, endian: str):
    """segyio's cube, lines and samples, or None where segyio opens no post-stack cube."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with segyio.open(path, endian=endian) as f:
                if len(f.offsets) != 1:
                    return None
                return segyio.tools.cube(f), f.ilines, f.xlines, f.samples
        except (RuntimeError, ValueError, IndexError):
            return None


def _endian(name: str) -> str:
    return "little" if "lsb" in name else "big"


# Codes that segyio 1.9 reads as IBM float without raising (garbage): we decode 7 and 15
# ourselves and refuse 4, so those files are checked against f3.sgy separately.
SEGYIO_GARBAGE = {"multiformats/Format4", "multiformats/Format7", "multiformats/Format15"}
# Read correctly by us but not by segyio 1.9 (variable count of extended text headers).
SEGYIO_CANNOT_BUT_WE_CAN = {"stanzas-unknown-count.sgy"}


@pytest.mark.parametrize("name", _files("*.sgy") + _files("*.su") + _files("multiformats/*.sgy"))
def test_same_as_segyio_or_a_facies_error(segyio_data, name):
    own_test = any(name.startswith(prefix) for prefix in SEGYIO_GARBAGE)
    if own_test or name in SEGYIO_CANNOT_BUT_WE_CAN:
        pytest.skip("checked by its own test")
    path = segyio_data / name
    expected = _segyio_cube(path, _endian(name))
    if expected is None:
        with pytest.raises(FaciesError):
            open_segy(path, sample_interval=None)
        return
    cube, ilines, xlines, samples = expected
    try:
        survey = open_segy(path)
    except FaciesError as err:
        # segyio silently falls back to dt=4 ms where both headers hold a negative one
        assert "sample interval" in str(err)
        survey = open_segy(path, sample_interval=4.0)
    np.testing.assert_array_equal(survey[AMPLITUDE].values, cube.astype(np.float32))
    np.testing.assert_array_equal(survey[INLINE].values, ilines)
    np.testing.assert_array_equal(survey[CROSSLINE].values, xlines)
    np.testing.assert_allclose(survey[SAMPLE].values, samples)
    assert survey.attrs["endian"] == _endian(name)


def test_f3_big_and_little_endian_are_the_same_survey(segyio_data):
    big, little = open_segy(segyio_data / "f3.sgy"), open_segy(segyio_data / "f3-lsb.sgy")
    assert (big.attrs["endian"], little.attrs["endian"]) == ("big", "little")
    big_attrs = {k: v for k, v in big.attrs.items() if k not in ("source", "endian")}
    little_attrs = {k: v for k, v in little.attrs.items() if k not in ("source", "endian")}
    assert big_attrs == little_attrs
    assert big.drop_attrs().identical(little.drop_attrs())
    assert big.sizes == {"inline": 23, "crossline": 18, "sample": 75}
    np.testing.assert_allclose(big["cdp_x"].min(), 620181.9)


@pytest.mark.parametrize("end", ["msb", "lsb"])
@pytest.mark.parametrize("code", [7, 15])
def test_24_bit_formats_decode_to_the_f3_values(segyio_data, code, end):
    reference = open_segy(segyio_data / "f3.sgy")[AMPLITUDE].values
    survey = open_segy(segyio_data / f"multiformats/Format{code}{end}.sgy")
    values = survey[AMPLITUDE].values
    if code == 15:  # unsigned 24-bit: the file holds the int16 values modulo 2**24
        values = np.where(values >= 2**23, values - 2**24, values)
    np.testing.assert_array_equal(values, reference)


def test_obsolete_format_4_is_refused(segyio_data):
    with pytest.raises(FaciesError, match="format 4"):
        open_segy(segyio_data / "multiformats/Format4msb.sgy")


def test_variable_extended_text_header_count(segyio_data):
    unknown = open_segy(segyio_data / "stanzas-unknown-count.sgy")
    known = open_segy(segyio_data / "stanzas-known-count.sgy")
    np.testing.assert_array_equal(unknown[AMPLITUDE].values, known[AMPLITUDE].values)


def test_prestack_offset_selection_matches_segyio(segyio_data):
    path = segyio_data / "small-ps.sgy"
    with pytest.raises(FaciesError, match="prestack"):
        open_segy(path)
    with segyio.open(path) as f:
        cube = segyio.tools.cube(f)  # (inline, crossline, offset, sample)
        offsets = list(f.offsets)
    for k, offset in enumerate(offsets):
        survey = open_segy(path, offset=int(offset))
        np.testing.assert_array_equal(survey[AMPLITUDE].values, cube[:, :, k])
