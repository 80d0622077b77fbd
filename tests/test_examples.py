"""The example that goes from a folder of one's own photos to a FID, run as a user runs it, at a tiny size."""

import os
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from skimage.data import lfw_subset

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.mark.slow
def test_photos_to_fid_packs_trains_samples_evaluates_and_looks_for_copies(tmp_path):
    photos = tmp_path / "photos"
    (photos / "more").mkdir(parents=True)
    for index, face in enumerate(lfw_subset()[:40]):  # a folder with a subfolder, as photos are kept
        iio.imwrite(photos / ("more" if index % 2 else "") / f"{index}.png", (face * 255).astype(np.uint8))
    env = {**os.environ, "SIZE": "16", "EPOCHS": "1", "N": "16",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(EXAMPLES / "photos_to_fid.sh"), str(photos), str(tmp_path / "out")],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "out"
    assert np.load(out / "faces.npy").shape == (40, 16, 16, 3)
    assert (out / "run" / "summary.json").is_file() and (out / "samples" / "grid.png").is_file()
    assert len(list((out / "samples").glob("0*.png"))) == 64
    assert "FID" in result.stdout + result.stderr and (out / "nearest" / "nearest.png").is_file()
