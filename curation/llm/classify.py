"""Learn to predict an LLM's quality score from document embeddings, so the LLM annotates a sample only.

The classify stage annotates a sample with ``quality-annotate``, fits this model on the sample's embeddings,
and scores every document with it. Ridge regression on embeddings is what FineWeb-Edu's classifier is
(a linear head on frozen embeddings), cheap enough to score billions of rows; the held-out mean absolute
error is returned with it so the run records how far the scores can be trusted.
"""
from __future__ import annotations

import numpy as np


def train_quality_classifier(embeddings, scores, random_state: int = 0, *, test_size: float = 0.2,
                             alpha: float = 1.0):
    """Fit ``Ridge`` on a train split; return ``(model, heldout_mae)`` measured on the held-out split.

    ``scores`` are numbers on the annotation scale (0-5); documents whose annotation failed are left out by
    the caller. Needs at least five documents so both splits are non-empty.
    """
    from sklearn.linear_model import Ridge
    from sklearn.metrics import mean_absolute_error
    from sklearn.model_selection import train_test_split

    x = np.asarray(embeddings, dtype=np.float32)
    y = np.asarray(scores, dtype=np.float64)
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"embeddings must be 2-D with one row per score, got {x.shape} and {y.shape}")
    if len(y) < 5:
        raise ValueError(f"need at least 5 annotated documents to train and hold out, got {len(y)}")
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_size, random_state=random_state)
    model = Ridge(alpha=alpha, random_state=random_state).fit(x_train, y_train)
    heldout_mae = float(mean_absolute_error(y_test, predict_quality(model, x_test)))
    return model, heldout_mae


def predict_quality(model, embeddings, low: float = 0.0, high: float = 5.0) -> np.ndarray:
    """Scores clipped to the annotation scale (a linear model extrapolates past it)."""
    return np.clip(model.predict(np.asarray(embeddings, dtype=np.float32)), low, high)
