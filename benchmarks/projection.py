"""`facegan project` on faces a run never saw, against the nearest of many random samples.

    python benchmarks/projection.py RUN [--photos 16] [--samples 2048] [--steps 100] [--starts 8] [--out DIR]

RUN must have faces it never saw (trained on CelebA's --split train, or on a --max-images subset). For each of
--photos of them (seeded), the projection's pixel L1 and Inception distance to the photo, beside the distance of
the nearest of --samples new samples (seeds 0 to --samples - 1) in each space: a projection that finds the face
beats the best random draw. Prints the per-photo figures, how many projections are nearer, the medians, and the
projection's time per image; writes DIR/projection-vs-samples.png (rows of photo, projection, nearest sample by
L1, nearest by Inception).
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np

from facegan import imaging
from facegan.analysis.nearest import nearest, nearest_features
from facegan.analysis.project import distances, perceptual_network
from facegan.analysis.projector import ProjectOptions, project
from facegan.checkpoints import open_generator_source
from facegan.data import load_training_faces, load_unseen_faces
from facegan.inference import new_samples
from facegan.metrics.inception import features


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--photos", type=int, default=16)
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--starts", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/facegan-projection"))
    args = parser.parse_args()
    cfg, nets, _ = open_generator_source(args.run)
    unseen = load_unseen_faces(cfg, load_training_faces(cfg))
    chosen = np.sort(np.random.default_rng(args.seed).choice(len(unseen.images), args.photos, replace=False))
    photos = np.ascontiguousarray(unseen.images[chosen])
    print(f"{os.cpu_count()} CPU cores; {cfg.model} {args.run}; {args.photos} faces it never saw; "
          f"{args.steps} steps, {args.starts} starts")

    # the starts' seeds follow the samples', so that no start is one of the samples it is compared with
    options = ProjectOptions(steps=args.steps, starts=args.starts, seed=args.samples + args.seed)
    network = perceptual_network(options)
    start = time.perf_counter()
    projection = project(nets, cfg, photos, options, network)
    seconds = time.perf_counter() - start
    measured = distances(photos, projection.images)

    samples = imaging.to_uint8(new_samples(nets["generator"], cfg, range(args.samples))[2])
    l1_index, l1_distance = nearest(photos, samples, "l1")
    inception_index, inception_distance = nearest_features(features(photos), features(samples))

    print(f"{'photo':>6} {'L1 proj':>8} {'L1 best':>8} {'Inc proj':>9} {'Inc best':>9}  start")
    for i in range(args.photos):
        print(f"{i:>6} {measured['l1'][i]:8.4f} {l1_distance[i]:8.4f} {measured['inception'][i]:9.3f} "
              f"{inception_distance[i]:9.3f}  {projection.start[i]}")
    for name, mine, best in (("pixel L1", measured["l1"], l1_distance),
                             ("Inception", measured["inception"], inception_distance)):
        print(f"{name}: projection nearer for {(mine < best).sum()}/{args.photos} photos; median {np.median(mine):.4g} "
              f"vs nearest of {args.samples} samples {np.median(best):.4g} (ratio {np.median(mine / best):.3f})")
    print(f"projection: {seconds:.1f} s for {args.photos} photos, {seconds / args.photos:.2f} s per photo")
    rows = np.stack([photos, projection.images, samples[l1_index], samples[inception_index]], 1)
    args.out.mkdir(parents=True, exist_ok=True)
    imaging.write_png(args.out / "projection-vs-samples.png", imaging.grid(rows.reshape(-1, *photos.shape[1:]), 8))
    print(f"-> {args.out / 'projection-vs-samples.png'} (per photo: photo, projection, nearest sample by L1, by "
          "Inception)")


if __name__ == "__main__":
    main()
