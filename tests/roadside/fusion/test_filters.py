"""IMM and association internals against their textbook forms: the fast paths give the same
numbers as the dense ones."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from roadside.fusion.association import GlobalNearestNeighbour, gating
from roadside.fusion.imm import ImmFilter, Measurements, _inverse_sym, measurement_model
from roadside.fusion.motion import ConstantVelocity, CoordinatedTurn, MotionModel


def spd(rng: np.random.Generator, *shape: int) -> np.ndarray:
    a = rng.normal(size=(*shape, shape[-1]))
    out: np.ndarray = a @ np.swapaxes(a, -1, -2) + np.eye(shape[-1])
    return out


def test_closed_form_inverses_match_numpy() -> None:
    rng = np.random.default_rng(1)
    for m in (2, 3, 4):
        s = spd(rng, 7, 2, m)
        inv, logdet = _inverse_sym(s)
        np.testing.assert_allclose(inv, np.linalg.inv(s), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(logdet, np.linalg.slogdet(s)[1], rtol=1e-9)


def test_sparse_and_zero_time_propagation_match_the_dense_product() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(20, 5))
    x[::4, 4] = 0.0  # straight-line coordinated turns take the Taylor branch
    p = spd(rng, 20, 5)
    for model in (ConstantVelocity(2.0, 1e-4), CoordinatedTurn(1.0, 0.1)):
        for dt in (rng.uniform(-0.1, 0.2, 20), np.zeros(20)):
            xf, pf = model.propagate(x, p, dt)
            xd, pd = MotionModel.propagate(model, x, p, dt)
            np.testing.assert_allclose(xf, xd, atol=1e-12)
            np.testing.assert_allclose(pf, pd, atol=1e-12)


def test_update_matches_the_joseph_form() -> None:
    rng = np.random.default_rng(3)
    imm = ImmFilter([ConstantVelocity(), CoordinatedTurn()])
    x = rng.normal(size=(6, 2, 5)) * [10, 10, 5, 5, 0.1]
    p = spd(rng, 6, 2, 5)
    c = np.full((6, 2), 0.5)
    for m in (2, 3):
        r = spd(rng, 6, m) * 0.1
        z = rng.normal(size=(6, m))
        meas = Measurements(z, r, (3.0, -4.0))
        x_new, p_new, _ = imm.update(x, p, c, meas)
        hx, h = measurement_model(x, m, meas.sensor_position)
        ht = np.swapaxes(h, -1, -2)
        s = h @ p @ ht + r[:, None]
        k = p @ ht @ np.linalg.inv(s)
        i_kh = np.eye(5) - k @ h
        joseph = i_kh @ p @ np.swapaxes(i_kh, -1, -2) + k @ r[:, None] @ np.swapaxes(k, -1, -2)
        np.testing.assert_allclose(x_new, x + (k @ (z[:, None] - hx)[..., None])[..., 0], atol=1e-9)
        np.testing.assert_allclose(p_new, joseph, atol=1e-9)


@pytest.mark.parametrize("dense_pairs", [0, gating._DENSE_PAIRS])
def test_crowded_gates_find_every_candidate(
    monkeypatch: pytest.MonkeyPatch, dense_pairs: int
) -> None:
    # More measurements inside one track's gate than the vectorised lookup asks for at first,
    # through the k-d tree and through the small problems' dense test.
    monkeypatch.setattr(gating, "_DENSE_PAIRS", dense_pairs)
    k = 3 * gating._NEAREST
    positions = np.column_stack([np.linspace(-1.0, 1.0, k), np.zeros(k)])
    tracks = np.array([[0.0, 0.0], [100.0, 0.0]])
    rows, cols, _, _ = gating.candidate_pairs(
        tracks,
        np.stack([np.eye(2)] * 2),
        positions,
        np.stack([np.eye(2) * 0.1] * k),
        gating.chi2_gate_2d(0.999),
    )
    assert rows.tolist() == [0] * k and sorted(cols.tolist()) == list(range(k))


@pytest.mark.parametrize("dense_pairs", [0, gating._DENSE_PAIRS])
def test_assignment_equals_the_full_problem(
    monkeypatch: pytest.MonkeyPatch, dense_pairs: int
) -> None:
    monkeypatch.setattr(gating, "_DENSE_PAIRS", dense_pairs)
    rng = np.random.default_rng(4)
    gnn = GlobalNearestNeighbour(0.999)
    for _ in range(20):
        n, k = rng.integers(1, 30, size=2)
        tracks = rng.uniform(0, 40, (n, 2))
        meas = np.concatenate(
            [tracks[: k // 2] + rng.normal(0, 0.7, (min(k // 2, n), 2)), rng.uniform(0, 40, (k, 2))]
        )[:k]
        tc, mc = np.stack([np.eye(2) * 0.5] * n), np.stack([np.eye(2) * 0.3] * len(meas))
        got = gnn.associate(tracks, tc, meas, mc)
        # The whole problem at once: gated pairs at their cost, the rest forbidden.
        d = meas[None] - tracks[:, None]
        d2 = (d * d).sum(axis=2) / 0.8
        cost = np.where(d2 <= gnn.gate_d2, d2 + np.log(0.8**2), 1e9)
        r, c = linear_sum_assignment(cost)
        ok = cost[r, c] < 1e9
        want = sorted(zip(r[ok].tolist(), c[ok].tolist(), strict=True))
        assert sorted(zip(got.tracks.tolist(), got.measurements.tolist(), strict=True)) == want


def test_two_model_mixing_and_combination_match_the_general_sums() -> None:
    rng = np.random.default_rng(6)
    imm = ImmFilter([ConstantVelocity(), CoordinatedTurn()], mean_sojourn_s=2.0)
    n = 9
    x = rng.normal(size=(n, 2, 5))
    p = spd(rng, n, 2, 5)
    mu = rng.dirichlet([1.0, 1.0], size=n)
    dt = rng.uniform(0.01, 0.2, n)
    pi = imm.transition(dt)
    c = np.einsum("nij,ni->nj", pi, mu)
    w = pi * mu[:, :, None] / c[:, None, :]
    x0 = np.einsum("nij,nik->njk", w, x)
    d = x[:, :, None, :] - x0[:, None, :, :]
    p0 = np.einsum("nij,nikl->njkl", w, p) + np.einsum("nij,nijk,nijl->njkl", w, d, d)
    xp, pp, cp = imm.mix_predict(x, p, mu, dt)
    for j, model in enumerate(imm.models):
        xj, pj = MotionModel.propagate(model, x0[:, j], p0[:, j], dt)
        np.testing.assert_allclose(xp[:, j], xj, atol=1e-12)
        np.testing.assert_allclose(pp[:, j], pj, atol=1e-10)
    np.testing.assert_allclose(cp, c, atol=1e-15)
    xc, pc = imm.combine(x, p, mu)
    dc = x - np.einsum("nj,njk->nk", mu, x)[:, None, :]
    np.testing.assert_allclose(xc, np.einsum("nj,njk->nk", mu, x), atol=1e-12)
    want = np.einsum("nj,njkl->nkl", mu, p) + np.einsum("nj,njk,njl->nkl", mu, dc, dc)
    np.testing.assert_allclose(pc, want, atol=1e-10)
