"""The image sizes each network family takes: integer rules without TensorFlow, so that `TrainConfig` refuses a
size before anything is written, and the builders derive their shapes from the same rule. Each raises
ValueError, naming the sizes it takes."""

from __future__ import annotations


def baseline_start(image_size: int) -> int:
    """The baseline networks' smallest map (four stride-2 stages)."""
    if image_size % 16 or image_size < 16:
        raise ValueError(f"baseline networks need an image size divisible by 16 (16, 32, 64, 80, ...), "
                         f"got {image_size}")
    return image_size // 16


def vae_start(image_size: int) -> int:
    """The VAE's smallest map (three stride-2 stages)."""
    if image_size % 8 or image_size < 8:
        raise ValueError(f"the VAE needs an image size divisible by 8 (8, 16, 32, 48, ...), got {image_size}")
    return image_size // 8


def dcgan_blocks(image_size: int) -> int:
    """The DCGAN networks' stride-2 blocks: log2(size) - 2, so that the last map is always 4x4."""
    blocks = image_size.bit_length() - 3
    if image_size < 8 or 2 ** (blocks + 2) != image_size:
        raise ValueError(f"DCGAN networks need a power-of-two image size of at least 8 (8, 16, 32, 64, ...), "
                         f"got {image_size}")
    return blocks


def fastgan_smallest_map(image_size: int) -> tuple[int, int]:
    """(s0, k) with image_size = s0 * 2**k, s0 in 4..7 and k >= 2: the fastgan networks' smallest map and the
    number of doublings from it."""
    s0, k = image_size, 0
    while s0 >= 8 and s0 % 2 == 0:
        s0, k = s0 // 2, k + 1
    if not 4 <= s0 <= 7 or k < 2:
        raise ValueError(f"fastgan networks need an image size of 4 to 7 times a power of two of at least 4 "
                         f"(16, 32, 48, 64, 80, ...), got {image_size}")
    return s0, k
