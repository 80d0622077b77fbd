#!/usr/bin/env bash
# smiling woman - neutral woman + neutral man = smiling man, in an AE-GAN's latent space.
# Needs faces with CelebA attributes:
#   examples/smiling_man.sh ~/data/celeba
# Without a CelebA folder it trains on the embedded faces and takes the terms from samples instead.
set -euo pipefail
data=${1:-lfw}
epochs=${EPOCHS:-10}
if [ "$data" = lfw ]; then
    run=$(facegan train aegan-v5 --epochs "$epochs" --image-size 32 --channels 1)
    samples=$(facegan sample "$run" -n 16)/samples.npz
    facegan arithmetic "$run" --plus "$samples:0,1,2" --minus "$samples:3,4,5" --plus "$samples:6,7,8"
else
    run=$(facegan train aegan-v5 --data "$data" --epochs "$epochs" --image-size 32)
    facegan arithmetic "$run" --plus "Smiling,~Male" --minus "~Smiling,~Male" --plus "~Smiling,Male"
fi
echo "see $run/arithmetic/arithmetic.png"
