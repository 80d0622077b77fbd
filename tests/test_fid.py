"""FID, KID, precision and recall: the estimators against closed forms and computations by hand."""

import numpy as np
import pytest

from facegan.metrics.fid import fid, frechet_distance, kid, precision_recall


def test_frechet_distance_of_gaussians_with_diagonal_covariances_is_the_closed_form():
    # commuting covariances: |mu_a - mu_b|^2 + sum (sigma_a - sigma_b)^2
    mu_a, mu_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var_a, var_b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    assert frechet_distance(mu_a, np.diag(var_a), mu_b, np.diag(var_b)) == pytest.approx(5 + 1 + 1 + 4)


def test_frechet_distance_with_full_covariances_matches_the_eigenvalues_of_their_product():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 6, 6))
    cov_a, cov_b = a @ a.T, b @ b.T
    mu_a, mu_b = rng.standard_normal((2, 6))
    # tr((S_a S_b)^(1/2)) is the sum of the square roots of the (real, non-negative) eigenvalues of S_a S_b
    trace_root = np.sqrt(np.linalg.eigvals(cov_a @ cov_b).real).sum()
    expected = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    assert frechet_distance(mu_a, cov_a, mu_b, cov_b) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(mu_a, cov_a, mu_a, cov_a) == pytest.approx(0, abs=1e-9)


def test_fid_of_gaussian_samples_approaches_the_closed_form():
    rng = np.random.default_rng(1)
    a = rng.normal([0, 0, 0], [1, 2, 3], (200_000, 3))
    b = rng.normal([1, 0, 2], [2, 2, 1], (200_000, 3))
    assert fid(a, b) == pytest.approx(1 + 4 + 1 + 0 + 4, rel=0.01)
    assert fid(a, a) == pytest.approx(0, abs=1e-9)


def mmd_by_hand(x, y):
    """The unbiased squared MMD with k(a, b) = (a.b / d + 1)^3, term by term."""
    def k(p, q):
        return (np.dot(p, q) / len(p) + 1) ** 3
    m = len(x)
    within = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    across = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m ** 2
    return within - 2 * across


def test_kid_is_the_unbiased_mmd_and_near_zero_for_one_distribution():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((2, 12, 5))
    mean, std = kid(x, y + 0.5, subsets=1, subset_size=12)  # one subset of every row: no sampling
    assert mean == pytest.approx(mmd_by_hand(x, y + 0.5), rel=1e-9) and std == 0
    # unbiased: over many pairs of small sets from one distribution the estimates average to 0 (the biased
    # estimate, with the kernel's diagonal, would average above it)
    same = [kid(*rng.standard_normal((2, 30, 4)), subsets=1, subset_size=30)[0] for _ in range(300)]
    assert abs(np.mean(same)) < 3 * np.std(same) / np.sqrt(len(same))
    shifted = kid(rng.standard_normal((400, 4)), rng.standard_normal((400, 4)) + 0.5, subset_size=100)
    assert shifted[0] > 3 * shifted[1] > 0  # subsets of 100 of 400: the spread over them is not 0


def test_precision_and_recall_tell_unrealistic_samples_from_missing_variety():
    rng = np.random.default_rng(3)
    real = rng.standard_normal((600, 8))
    assert min(precision_recall(real, rng.standard_normal((600, 8)))) > 0.8  # one distribution: both high
    collapsed = real[0] + 0.01 * rng.standard_normal((600, 8))  # realistic, but one face over and over
    precision, recall = precision_recall(real, collapsed)
    assert precision == 1.0 and recall < 0.01
    unrealistic = rng.standard_normal((600, 8)) + 6.0  # as varied as the data, nowhere near it
    assert precision_recall(real, unrealistic) == (0.0, 0.0)


def test_precision_counts_a_sample_inside_a_real_ball_by_hand():
    real = np.array([[0.0], [1.0], [3.0], [10.0]])  # 1st neighbour (k = 1): radii 1, 1, 2, 7
    fake = np.array([[0.5], [5.5], [20.0], [-1.5]])
    precision, recall = precision_recall(real, fake, k=1)
    assert precision == 0.5  # 0.5 (in the balls of 0 and 1) and 5.5 (in the ball of 10, radius 7)
    # fake radii (k = 1): 0.5 -> 2.0, 5.5 -> 5.0, 20 -> 14.5, -1.5 -> 2.0; every real point is in one
    assert recall == 1.0
