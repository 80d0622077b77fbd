"""The blur factor: the variance of the Laplacian, exactly as OpenCV computes it.

    cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()

Colour goes to uint8 gray with OpenCV's fixed-point weights (0.299 R + 0.587 G + 0.114 B,
rounded); the 4-neighbour 3x3 kernel is applied with the border reflected as OpenCV's
BORDER_REFLECT_101 does. Lower means blurrier. NumPy only: no OpenCV, no TensorFlow.
"""

from __future__ import annotations

import numpy as np

# OpenCV's 8-bit RGB->gray: the weights in 15-bit fixed point, rounded (checked against cv2 on 65,536 colours)
_R, _G, _B, _SHIFT = 9798, 19235, 3735, 15


def to_gray_uint8(image: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 1), (H, W, 3) or (H, W, 4) uint8 -> (H, W) uint8 gray, as cv2.COLOR_RGB2GRAY."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"blur is measured on uint8 images, got {image.dtype}")
    if image.ndim == 2:
        return image
    if image.shape[-1] == 1:
        return image[..., 0]
    rgb = image[..., :3].astype(np.int32)
    gray = (rgb[..., 0] * _R + rgb[..., 1] * _G + rgb[..., 2] * _B + (1 << (_SHIFT - 1))) >> _SHIFT
    return gray.astype(np.uint8)


def laplacian(gray: np.ndarray) -> np.ndarray:
    """4-neighbour Laplacian (H, W) float64 with reflect-101 borders (at least 2x2 pixels)."""
    padded = np.pad(gray.astype(np.float64), 1, mode="reflect")  # numpy 'reflect' is OpenCV's REFLECT_101
    return (padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]
            - 4.0 * padded[1:-1, 1:-1])


def blur_factor(image: np.ndarray) -> float:
    """Variance of the Laplacian of one uint8 image."""
    return float(laplacian(to_gray_uint8(image)).var())
