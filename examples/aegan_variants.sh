#!/usr/bin/env bash
# The original AE-GAN comparison: train v1, v4 and v5 on the same faces with the same seed,
# measure their blur against the data's and their SWD (same settings for all three, so the
# figures compare), and print the metrics table.
#   examples/aegan_variants.sh                             # embedded LFW faces, 32x32 grayscale
#   examples/aegan_variants.sh ~/data/celeba    # CelebA at the models' own 80x80 RGB
set -euo pipefail
data=${1:-lfw}
epochs=${EPOCHS:-10}
size_options=()
[ "$data" = lfw ] && size_options=(--image-size 32 --channels 1)

runs=()
for variant in v1 v4 v5; do
    run=$(facegan train "aegan-$variant" --data "$data" --epochs "$epochs" --seed 1 "${size_options[@]}")
    echo "aegan-$variant: blur $(facegan blur "$run" --data)"
    facegan eval "$run" -n 512 --seed 0 > /dev/null   # RUN/eval.json, shown by compare as eval.swd
    runs+=("$run")
done
facegan compare "${runs[@]}" --format markdown
