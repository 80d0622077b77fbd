"""The sliced Wasserstein distance: its pyramid against a direct implementation, and its properties."""

import numpy as np
import pytest
from scipy import ndimage

from facegan.metrics import swd


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    """64 LFW faces at 32x32, uint8 (N, H, W, 1)."""
    from skimage.data import lfw_subset
    from skimage.transform import resize

    return (resize(lfw_subset()[:64], (64, 32, 32), anti_aliasing=True)[..., None] * 255).astype(np.uint8)


def direct_pyramid(image: np.ndarray, levels: int) -> list[np.ndarray]:
    """The progressive-GAN code's own pyramid: a full 5x5 convolution per level (NCHW, scipy, mode='mirror')."""
    kernel = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1])[None, None].astype(np.float32) / 256
    down = lambda x: ndimage.convolve(x, kernel, mode="mirror")[:, :, ::2, ::2]  # noqa: E731

    def up(x):
        result = np.zeros((x.shape[0], x.shape[1], x.shape[2] * 2, x.shape[3] * 2), x.dtype)
        result[:, :, ::2, ::2] = x
        return ndimage.convolve(result, kernel * 4.0, mode="mirror")

    pyramid = [image.astype(np.float32)]
    for _ in range(1, levels):
        pyramid.append(down(pyramid[-1]))
        pyramid[-2] = pyramid[-2] - up(pyramid[-1])
    return pyramid


def test_pyramid_matches_the_direct_convolution():
    images = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3)).astype(np.uint8)
    ours = swd.laplacian_pyramid(images, 3)
    direct = direct_pyramid(images.transpose(0, 3, 1, 2), 3)
    assert [level.shape[1] for level in ours] == [32, 16, 8]
    for mine, theirs in zip(ours, direct):
        np.testing.assert_allclose(mine.transpose(0, 3, 1, 2), theirs, atol=1e-3)


def test_levels_go_from_the_resolution_down_to_16():
    assert swd.resolutions(64) == [64, 32, 16]
    assert swd.resolutions(48) == [48, 24]
    assert swd.resolutions(16) == [16]
    assert swd.resolutions(12) == [12]


def test_a_set_has_distance_zero_to_itself(faces):
    result = swd.sliced_wasserstein(faces, [faces.copy()], seed=3)[0]
    assert result == {32: 0.0, 16: 0.0, "mean": 0.0}


def test_distance_is_symmetric(faces):
    a, b = faces[:32], faces[32:]
    assert swd.sliced_wasserstein(a, [b], seed=1) == swd.sliced_wasserstein(b, [a], seed=1)


def test_distance_grows_with_the_strength_of_added_noise(faces):
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(faces.shape)
    noisy = [np.clip(faces + sigma * noise, 0, 255).astype(np.uint8) for sigma in (2, 8, 24, 64)]
    results = swd.sliced_wasserstein(faces, noisy, seed=0)
    for key in (32, 16, "mean"):
        figures = [r[key] for r in results]
        assert all(a < b for a, b in zip(figures, figures[1:])), (key, figures)


def test_same_seed_same_figure_and_sets_must_match_in_size(faces):
    a, b = faces[:32], faces[32:]
    assert swd.sliced_wasserstein(a, [b], seed=5) == swd.sliced_wasserstein(a, [b], seed=5)
    assert swd.sliced_wasserstein(a, [b], seed=5) != swd.sliced_wasserstein(a, [b], seed=6)
    with pytest.raises(ValueError, match="one size"):
        swd.sliced_wasserstein(a, [faces])


def test_colour_and_odd_sizes_are_measured():
    rng = np.random.default_rng(1)
    a, b = (rng.integers(0, 256, (8, 34, 34, 3)).astype(np.uint8) for _ in range(2))
    result = swd.sliced_wasserstein(a, [b])[0]
    assert list(result) == [34, 17, "mean"] and result["mean"] > 0


def test_rows_are_sorted_in_place_as_numpy_sorts_them():
    rows = np.random.default_rng(2).standard_normal((3, 128, 500)).astype(np.float32)
    expected = np.sort(rows, axis=-1)
    swd._sort_rows(rows)
    np.testing.assert_array_equal(rows, expected)


def test_brightness_and_contrast_are_normalized_away(faces):
    """Descriptors are normalized per set, so an affine change of every pixel leaves the figure at 0."""
    changed = (faces.astype(np.float32) * 0.5 + 60).astype(np.float32)
    result = swd.sliced_wasserstein(faces.astype(np.float32), [changed], seed=0)[0]
    assert result["mean"] < 1e-2


def test_sampling_noise_is_smaller_than_a_real_difference(faces):
    shuffled = faces[np.random.default_rng(0).permutation(len(faces))]  # other patches, same distribution
    flat = np.repeat(faces.mean(axis=(1, 2), keepdims=True).astype(np.uint8), 32, axis=1).repeat(32, axis=2)
    same, different = swd.sliced_wasserstein(faces, [shuffled, flat])
    assert 0 < same["mean"] < different["mean"] / 3
