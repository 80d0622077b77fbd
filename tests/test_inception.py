"""KID and FID: the estimators against closed forms and independent computations, and `eval --metric` with
InceptionV3 weights from a local file (randomly initialized here: ImageNet's cannot be fetched in tests)."""

import json

import keras
import numpy as np
import pytest
from typer.testing import CliRunner

from facegan.cli import app
from facegan.metrics.inception import FEATURES, WEIGHTS_FILE, fid, frechet_distance, kid

runner = CliRunner()


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


@pytest.fixture(scope="module")
def random_inception(tmp_path_factory):
    """A weights file of a randomly initialized InceptionV3 (what --inception-weights takes)."""
    path = tmp_path_factory.mktemp("inception") / "random.weights.h5"
    keras.utils.set_random_seed(0)
    keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None,
                                   input_shape=(299, 299, 3)).save_weights(path)
    return path


def test_eval_reports_kid_and_fid_on_local_weights(trained_runs, random_inception, tmp_path):
    import shutil

    run = shutil.copytree(trained_runs["dcgan"], tmp_path / "run")
    result = runner.invoke(app, ["eval", str(run), "--n", "16", "--metric", "swd,kid,fid", "--inception-weights",
                                 str(random_inception), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert {"swd", "kid", "kid_std", "fid", "kid_real", "kid_real_std", "fid_real"} <= set(figures)
    assert figures["fid"] > 0 and figures["fid_real"] > 0 and figures["kid_std"] > 0
    assert json.loads((run / "eval.json").read_text())["fid"] == figures["fid"]
    table = runner.invoke(app, ["eval", str(run), "--n", "16", "--metric", "fid", "--inception-weights",
                                str(random_inception)])
    assert "FID" in table.stdout and "KID x1e3" in table.stdout
    # the features of one set of images are the same whatever the batch: FID of the run is reproducible
    again = json.loads(runner.invoke(app, ["eval", str(run), "--n", "16", "--metric", "kid,fid",
                                           "--inception-weights", str(random_inception), "--json"]).stdout)
    assert again["fid"] == pytest.approx(figures["fid"], rel=1e-5)


def test_without_weights_one_line_says_where_to_put_the_file(trained_runs, monkeypatch):
    def offline(*args, weights=None, **kwargs):
        assert weights == "imagenet"
        raise Exception("URL fetch failure: Name or service not known")  # as keras' download raises it

    monkeypatch.setattr(keras.applications, "InceptionV3", offline)
    result = runner.invoke(app, ["eval", str(trained_runs["dcgan"]), "--metric", "swd,fid"])
    assert result.exit_code == 2
    for needed in (WEIGHTS_FILE, "~/.keras/models/", "--inception-weights"):
        assert needed in result.output
    assert "Traceback" not in result.output
    missing = runner.invoke(app, ["eval", str(trained_runs["dcgan"]), "--metric", "kid",
                                  "--inception-weights", "/nonexistent.h5"])
    assert missing.exit_code == 2 and "no such file" in missing.output
    unknown = runner.invoke(app, ["eval", str(trained_runs["dcgan"]), "--metric", "is"])
    assert unknown.exit_code == 2 and "unknown: is" in unknown.output


def test_features_have_the_pool_size(random_inception):
    from facegan.metrics.inception import inception_features, inception_network

    features = inception_features(inception_network(random_inception), np.zeros((3, 16, 16, 1), np.uint8))
    assert features.shape == (3, FEATURES) and np.isfinite(features).all()
