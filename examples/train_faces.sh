#!/usr/bin/env bash
# Train a DCGAN, look at its run directory and its health, measure it, then continue it for more epochs.
#   examples/train_faces.sh                              # the embedded LFW faces
#   examples/train_faces.sh ~/data/celeba     # a CelebA folder (or any image folder)
set -euo pipefail
data=${1:-lfw}
epochs=${EPOCHS:-5}

run=$(facegan train dcgan --data "$data" --epochs "$epochs")   # stdout: the run directory
echo "run directory: $run"
ls "$run" "$run/samples"
cat "$run/summary.json"
[ -f "$run/health.csv" ] && cat "$run/health.csv"           # warnings of the health guard, if any
facegan eval "$run" -n 512                                  # SWD against the data, with its noise floor

facegan train --resume "$run" --epochs $((epochs * 2))        # same run, more epochs
tail -n 3 "$run/epochs.csv"
