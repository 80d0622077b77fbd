"""The blur factor equals OpenCV's variance of the Laplacian on the same decoded images."""

import cv2
import numpy as np
import pytest
from skimage.data import astronaut, lfw_subset

from facegan.metrics.blur import blur_factor, to_gray_uint8


def opencv_blur(image):
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    return cv2.Laplacian(gray, cv2.CV_64F).var()


def test_equals_opencv_on_the_embedded_lfw_faces():
    faces = np.rint(lfw_subset()[:100] * 255).astype(np.uint8)
    for face in faces:
        assert blur_factor(face) == pytest.approx(opencv_blur(face), rel=1e-6)


def test_equals_opencv_on_colour_faces_and_random_images():
    rng = np.random.default_rng(0)
    images = [astronaut()[100:250, 150:300], rng.integers(0, 256, (17, 23, 3), np.uint8),
              rng.integers(0, 256, (2, 2, 3), np.uint8), np.full((8, 8, 3), 200, np.uint8)]
    for image in images:
        assert blur_factor(image) == pytest.approx(opencv_blur(image), rel=1e-6, abs=1e-12)


def test_gray_conversion_is_opencvs_on_every_colour_value():
    rng = np.random.default_rng(1)
    colours = rng.integers(0, 256, (256, 256, 3), np.uint8)
    assert np.array_equal(to_gray_uint8(colours), cv2.cvtColor(colours, cv2.COLOR_RGB2GRAY))


def test_a_blurred_face_scores_lower():
    face = astronaut()[100:250, 150:300]
    assert blur_factor(cv2.GaussianBlur(face, (5, 5), 2)) < blur_factor(face) / 2


def test_equals_opencv_on_generated_images(trained_runs):
    from facegan.analysis.images import generated_tiles

    for run in trained_runs.values():  # a grayscale DCGAN and an RGB AE-GAN
        _, images = generated_tiles(run)
        for image in images:
            assert blur_factor(image) == pytest.approx(opencv_blur(image.squeeze()), rel=1e-6, abs=1e-12)


def test_grids_enlarge_small_tiles_and_tiles_gives_back_the_originals():
    from facegan import imaging

    images = np.random.default_rng(0).integers(0, 255, (5, 16, 16, 3), np.uint8)
    canvas = imaging.grid(images, 3)
    assert canvas.shape == (2 * (64 + 2) + 2, 3 * (64 + 2) + 2, 3)  # 16 px tiles shown at 64 px
    np.testing.assert_array_equal(imaging.tiles(canvas, 16), images)
    assert imaging.grid(np.zeros((2, 64, 64, 1), np.uint8)).shape == (68, 134, 1)  # 64 px tiles as they are
