"""The search's predictor: LightGBM from a mixture's weights to its proxy score, regularised as in CLIMB.

CLIMB fits a LightGBM regressor with trees of depth 4, learning rate 0.01, L1 and L2 penalties of 1.0 and
early stopping, since a few dozen proxy runs are easy to overfit. Early stopping needs runs the trees are not
fitted on: a seeded fifth of the runs (at least two) is held out, and the number of trees is the one that
scored best on them. The scores are standardised before the fit: bits per byte of two mixtures differ by
hundredths, and an L1 penalty of 1.0 on gradients that small would zero every leaf. The fit is single-threaded
and deterministic, so the same runs give the same model.
"""

from __future__ import annotations

import numpy as np

DEPTH = 4
LEARNING_RATE = 0.01
MAX_TREES = 2000
EARLY_STOP = 100
VALID_FRACTION = 0.2


class Predictor:
    """A fitted ``LGBMRegressor`` on standardised scores; ``predict`` answers in the scores' units."""

    def __init__(self, model, mean: float, scale: float, n_valid: int):
        self.model, self.mean, self.scale, self.n_valid = model, mean, scale, n_valid

    def predict(self, weights: np.ndarray) -> np.ndarray:
        return self.model.predict(weights) * self.scale + self.mean

    @property
    def trees(self) -> int:
        return int(self.model.booster_.current_iteration() if not self.n_valid else self.model.best_iteration_)

    def to_string(self) -> str:
        return self.model.booster_.model_to_string()


def fit_predictor(weights: np.ndarray, scores: np.ndarray, seed: list[int]) -> Predictor:
    """``seed`` picks the early-stopping split (the caller makes it per round)."""
    import lightgbm as lgb

    mean, scale = float(scores.mean()), float(scores.std()) or 1.0
    scores = (scores - mean) / scale

    n = len(scores)
    n_valid = max(2, int(round(VALID_FRACTION * n))) if n >= 6 else 0
    order = np.random.default_rng(seed).permutation(n)
    valid, train = np.sort(order[:n_valid]), np.sort(order[n_valid:])
    model = lgb.LGBMRegressor(
        n_estimators=MAX_TREES,
        learning_rate=LEARNING_RATE,
        max_depth=DEPTH,
        num_leaves=2**DEPTH,
        reg_alpha=1.0,
        reg_lambda=1.0,
        min_child_samples=8,
        min_child_weight=0.0,
        subsample=1.0,
        colsample_bytree=1.0,
        random_state=int(seed[0]),
        n_jobs=1,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )
    if not n_valid:
        return Predictor(model.set_params(n_estimators=200).fit(weights, scores), mean, scale, 0)
    model.fit(
        weights[train],
        scores[train],
        eval_X=(weights[valid],),
        eval_y=(scores[valid],),
        callbacks=[lgb.early_stopping(EARLY_STOP, verbose=False)],
    )
    return Predictor(model, mean, scale, n_valid)


def spearman(a, b) -> float | None:
    """Rank correlation, or None when either side is constant or has fewer than three values."""
    from scipy.stats import spearmanr

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(np.round(spearmanr(a, b).statistic, 6))
