"""Images: [-1, 1] floats <-> uint8, grids, fitting any image to a model's size, finding and reading image files,
PNG and GIF files through imageio."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from facegan import files
from facegan.errors import FaceganError

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".pgm"}
GRID_PAD = 2  # white pixels around and between the tiles of a grid


def to_uint8(images: np.ndarray) -> np.ndarray:
    """(..., H, W, C) floats in [-1, 1] -> uint8 in [0, 255]."""
    return np.clip(np.rint((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def to_float(images: np.ndarray) -> np.ndarray:
    """(..., H, W, C) uint8 in [0, 255] -> float32 in [-1, 1]: the inverse of to_uint8."""
    return np.asarray(images).astype(np.float32) / 127.5 - 1.0


def reconstruction_rows(x: np.ndarray, x_rec: np.ndarray, columns: int = 8) -> np.ndarray:
    """Rows of `columns` inputs, each followed by the row of their reconstructions."""
    rows = []
    for start in range(0, len(x), columns):
        rows += [x[start:start + columns], x_rec[start:start + columns]]
    return np.concatenate(rows)


GRID_TILE = 64  # tiles smaller than this are enlarged (nearest neighbour) to be seen: 16 px x4, 32 px x2


def grid_scale(size: int) -> int:
    """How many times a grid enlarges tiles of `size` pixels."""
    return max(1, GRID_TILE // size)


def grid(images: np.ndarray, columns: int | None = None) -> np.ndarray:
    """(N, H, W, C) uint8 -> one image of rows and `columns` of tiles with white padding; tiles smaller than
    GRID_TILE are enlarged by whole pixels (nearest neighbour), so that a person can see them."""
    from skimage.util import montage

    scale = grid_scale(images.shape[1])
    images = images.repeat(scale, axis=1).repeat(scale, axis=2) if scale > 1 else images
    columns = columns or math.ceil(math.sqrt(len(images)))
    return montage(images, fill=(255,) * images.shape[-1], grid_shape=(math.ceil(len(images) / columns), columns),
                   padding_width=GRID_PAD, channel_axis=-1)


def tiles(canvas: np.ndarray, size: int) -> np.ndarray:
    """The inverse of `grid`: (N, size, size, C) tiles of a grid image, row by row, blank tiles left out (an
    enlarged tile gives back its original pixels)."""
    scale = grid_scale(size)
    step = size * scale + GRID_PAD
    rows, columns = (canvas.shape[0] - GRID_PAD) // step, (canvas.shape[1] - GRID_PAD) // step
    found = [canvas[GRID_PAD + r * step:GRID_PAD + r * step + size * scale:scale,
                    GRID_PAD + c * step:GRID_PAD + c * step + size * scale:scale]
             for r in range(rows) for c in range(columns)]
    return np.stack([t for t in found if not np.all(t == 255)])


def fit_image(image: np.ndarray, size: int, channels: int) -> np.ndarray:
    """(H, W[, C]) image, uint8 or uint16 (by their range) or float in [0, 1], with 1 to 4 channels (gray,
    gray+alpha, RGB, RGBA) -> (size, size, channels) uint8: center crop, antialiased resize, channel count."""
    from skimage.transform import resize

    if np.issubdtype(image.dtype, np.integer):
        image = image.astype(np.float32) / np.iinfo(image.dtype).max
    image = image.astype(np.float32)
    if image.ndim == 2:
        image = image[..., None]
    image = image[..., :1] if image.shape[-1] == 2 else image[..., :3]  # alpha dropped
    if channels == 1 and image.shape[-1] == 3:
        image = image @ np.array([0.299, 0.587, 0.114], np.float32)[:, None]
    elif channels == 3 and image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    image = image[top:top + side, left:left + side]
    if side != size:
        image = resize(image, (size, size), anti_aliasing=True, preserve_range=True)
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def find_images(folder: Path) -> list[Path]:
    """The image files under a folder, recursively, sorted by path."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def png_bytes(image: np.ndarray) -> bytes:
    """(H, W, C) uint8 -> the bytes of a PNG file."""
    import imageio.v3 as iio

    return iio.imwrite("<bytes>", image[..., 0] if image.shape[-1] == 1 else image, extension=".png")


def write_png(path: Path, image: np.ndarray) -> None:
    files.write_bytes(path, png_bytes(image))


def write_gif(path: Path, frames: list[np.ndarray], seconds_per_frame: float = 0.5) -> None:
    import imageio.v3 as iio

    frames = [f[..., 0] if f.shape[-1] == 1 else f for f in frames]
    files.write_bytes(path, iio.imwrite("<bytes>", np.stack(frames), extension=".gif",
                                        duration=int(seconds_per_frame * 1000), loop=0))


VIDEO_FORMATS = ("gif", "mp4")
VIDEO_INSTALL = "pip install imageio-ffmpeg"


def write_video(path: Path, frames: list[np.ndarray], fps: float) -> None:
    """Frames (H, W, C) uint8 as a looping GIF, or for a path ending in .mp4 an H.264 video by imageio's FFmpeg
    plugin (one line where imageio-ffmpeg is missing)."""
    if Path(path).suffix.lower() != ".mp4":
        write_gif(path, frames, seconds_per_frame=1 / fps)
        return
    check_video_writer()
    import imageio.v3 as iio

    stack = np.stack([np.repeat(f, 3, -1) if f.shape[-1] == 1 else f for f in frames])
    files.write_bytes(path, iio.imwrite("<bytes>", stack, extension=".mp4", plugin="FFMPEG", fps=fps,
                                        macro_block_size=1))


def check_video_writer() -> None:
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        raise FaceganError(f"an MP4 needs FFmpeg: {VIDEO_INSTALL} (a GIF needs nothing)") from None


GRAY_MODES = ("1", "L", "LA", "La", "I", "F")  # Pillow modes with one colour channel (and I;16 variants)


def read_image(path: Path) -> np.ndarray:
    """An image file as (H, W, 1) or (H, W, 3) uint8, in any mode Pillow reads: its first frame, turned
    upright by its EXIF orientation; alpha dropped; palette, CMYK and other colour modes converted to RGB;
    16-bit gray scaled to 8 bits. A file that is not a whole image (truncated, corrupt, not an image)
    raises FaceganError."""
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # Pillow warns, and goes on, on a truncated TIFF or a huge image
            with Image.open(path) as opened:
                opened.load()  # all the pixels, or an error
                try:
                    image = ImageOps.exif_transpose(opened)
                except (Warning, ValueError, KeyError, OSError):  # damaged metadata: the pixels as stored
                    image = opened
                if image.mode.startswith("I;16") or image.mode == "I":  # 16-bit gray (PNG, TIFF)
                    array = np.rint(np.clip(np.asarray(image, np.float64), 0, 65535) / 257.0).astype(np.uint8)
                else:
                    array = np.asarray(image.convert("L" if image.mode in GRAY_MODES else "RGB"))
    except (OSError, ValueError, SyntaxError, Warning, Image.DecompressionBombError) as error:
        raise FaceganError(f"{path} cannot be read as an image ({error})") from None
    if min(array.shape[:2]) < 1:
        raise FaceganError(f"{path} is an empty image")
    return array[..., None] if array.ndim == 2 else array
