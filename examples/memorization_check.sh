#!/usr/bin/env bash
# Did the model memorize its training faces? Train, sample, and fail when more than 5% of the
# samples are nearer to a training face than 99% of real faces are to each other.
#   examples/memorization_check.sh                             # embedded LFW faces
#   examples/memorization_check.sh ~/data/celeba    # a CelebA folder
set -euo pipefail
data=${1:-lfw}
run=$(facegan train dcgan --data "$data" --epochs "${EPOCHS:-20}")
samples=$(facegan sample "$run" -n 64)
facegan nearest "$run" --samples "$samples/samples.npz" --fail-above 0.05
echo "see $run/nearest/nearest.png: generated faces above their nearest training faces"
