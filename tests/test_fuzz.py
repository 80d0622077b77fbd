"""Property-based fuzzing (Hypothesis) of every way data comes in: arrays of any shape, type and content;
image files of any mode, size and format, whole or corrupted. Each input is either accepted, giving uint8
faces of the right shape and nothing else, or refused with a FaceganError: never a traceback."""

import io
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from facegan.analysis.blur import measure_paths
from facegan.analysis.images import load_samples
from facegan.analysis.terms import resolve
from facegan.data import load_faces
from facegan.errors import FaceganError

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
unique = itertools.count()

dtypes = st.sampled_from([np.uint8, np.uint16, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32,
                          np.float64, np.bool_, np.complex64])
shapes = st.tuples(st.integers(0, 3), st.integers(0, 40), st.integers(0, 40)).flatmap(
    lambda nhw: st.sampled_from([nhw, *[(*nhw, c) for c in range(0, 6)]]))
arrays = st.tuples(dtypes, shapes).flatmap(lambda ds: hnp.arrays(ds[0], ds[1]))
any_arrays = st.one_of(arrays, hnp.arrays(np.uint8, st.sampled_from([(3,), (2, 2), (1, 1, 1, 1, 1)])))


def accepted_or_refused(function, *args):
    """function(*args), or None when it refuses with a FaceganError."""
    try:
        return function(*args)
    except FaceganError:
        return None


@FUZZ
@given(array=any_arrays, channels=st.sampled_from([1, 3]), kind=st.sampled_from(["npy", "npz"]))
def test_any_array_is_faces_or_one_refusal(tmp_path, array, channels, kind):
    path = tmp_path / f"{next(unique)}.{kind}"
    np.save(path, array) if kind == "npy" else np.savez(path, images=array)
    faces = accepted_or_refused(load_faces, str(path), 16, channels, "all", None, 0, None, 1)
    if faces is not None:
        assert faces.images.dtype == np.uint8 and faces.images.shape == (len(array), 16, 16, channels)
        assert faces.skipped == {}


@st.composite
def image_files(draw):
    """The bytes of an image file: a random mode, size and format, possibly truncated or with bytes flipped."""
    mode = draw(st.sampled_from(["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"]))
    width, height = draw(st.integers(1, 48)), draw(st.integers(1, 48))
    pixels = draw(hnp.arrays(np.uint8, (height, width, 3)))
    image = Image.fromarray(pixels).convert(mode) if mode not in ("I;16", "I", "F") else \
        Image.fromarray(pixels[..., 0]).convert("I" if mode == "I;16" else mode)
    fmt = draw(st.sampled_from(["PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM"]))
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=fmt)
    except (OSError, ValueError, KeyError):  # a mode this format cannot hold: save it as TIFF
        fmt = "TIFF"
        image.save(buffer, format=fmt)
    data = bytearray(buffer.getvalue())
    damage = draw(st.sampled_from(["none", "truncate", "flip"]))
    if damage == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif damage == "flip":
        for index in draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=8)):
            data[index] ^= 0xFF
    return bytes(data), fmt.lower()


@FUZZ
@given(file=image_files(), channels=st.sampled_from([1, 3]))
def test_any_image_file_is_a_face_or_skipped_and_counted(tmp_path, file, channels):
    data, fmt = file
    folder = tmp_path / f"folder{next(unique)}"
    folder.mkdir()
    (folder / f"face.{fmt}").write_bytes(data)
    faces = accepted_or_refused(load_faces, str(folder), 16, channels, "all", None, 0, None, 1)
    if faces is not None:
        assert faces.images.shape == (1, 16, 16, channels) and faces.images.dtype == np.uint8
    for measure in (lambda: measure_paths([folder]), lambda: resolve(str(folder), 4, 16, channels, None)):
        result = accepted_or_refused(measure)
        if result is not None and hasattr(result, "images"):  # an arithmetic term
            assert result.images.shape == (1, 16, 16, channels) and result.images.dtype == np.uint8
        elif result is not None:  # blur
            assert np.isfinite(result["blur"])


@FUZZ
@given(images=any_arrays, latents=any_arrays)
def test_any_samples_npz_is_samples_or_one_refusal(tmp_path, images, latents):
    path = tmp_path / f"{next(unique)}.npz"
    np.savez(path, images=images, z=latents)
    checked = accepted_or_refused(load_samples, path, (16, 16, 1))
    if checked is not None:
        assert checked[0].dtype == np.uint8 and checked[0].shape[1:] == (16, 16, 1)
    term = accepted_or_refused(resolve, f"{path}:0", 4, 16, 1, None)
    if term is not None:
        assert term.images.dtype == np.uint8 and term.images.shape[1:] == (16, 16, 1)
        assert term.latents.ndim == 2 and np.isfinite(term.latents).all()


def test_the_fuzzing_reaches_both_outcomes(tmp_path):
    """The properties above are not vacuous: the same helpers accept a good input and refuse a bad one."""
    np.save(tmp_path / "good.npy", np.zeros((2, 16, 16), np.uint8))
    np.save(tmp_path / "bad.npy", np.zeros((2, 16, 16), np.int32))
    assert accepted_or_refused(load_faces, str(tmp_path / "good.npy"), 16, 1) is not None
    assert accepted_or_refused(load_faces, str(tmp_path / "bad.npy"), 16, 1) is None
    with pytest.raises(AssertionError):
        accepted_or_refused(lambda: (_ for _ in ()).throw(AssertionError()))
