"""Knowledge distillation you can run in seconds: scikit-learn's digits, a teacher MLP and a small student.

The data are scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes; no download).
A teacher with many hidden units learns from the hard labels; a student with few hidden units learns
either from the hard labels alone or from the distillation objective (Hinton et al. 2015)

    alpha * CE(softmax(s), y) + (1 - alpha) * tau**2 * mean_n KL(softmax(t / tau) || softmax(s / tau))

with the teacher's logits t on the same training images.  Held-out accuracy tells whether the
teacher's soft targets helped::

    result = digits.sweep(softmax, taus=(1, 2, 4, 8), alphas=(0.5,))
    result.teacher, result.hard, result.distilled[(4, 0.5)]

Everything here takes your ``softmax(logits, tau=1.0, axis=-1)`` as an argument instead of having
its own: the gradients are written with it, so the sweep trains with your function.  The networks are
plain NumPy (one hidden ReLU layer, full-batch Adam) and every run is fixed by its seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Sweep",
    "accuracy",
    "backward",
    "distillation_grad",
    "forward",
    "hard_label_grad",
    "init_mlp",
    "load_split",
    "sweep",
    "train",
    "train_student",
    "train_teacher",
]

Softmax = Callable[..., np.ndarray]  # softmax(logits, tau=1.0, axis=-1), the exercise's signature
Params = dict[str, np.ndarray]
NUM_CLASSES = 10

TEACHER_HIDDEN = 256
STUDENT_HIDDEN = 8
TRAIN_SIZE = 300  # a small training set, where a teacher's soft targets have the most to add
STEPS = 400
LEARNING_RATE = 0.01


# ---------------------------------------------------------------- data


def load_split(test_size: float | int = 0.5, seed: int = 0,
               train_size: float | int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The digits, split into training and test sets with the same share of each class.

    Args:
        test_size: the test set's share of the 1,797 images (a float) or its size (an int).
        seed: fixes which images go where.
        train_size: the training set's share or size; by default all the images not in the test set.

    Returns:
        X_train, X_test: (n, 64) float64 pixels scaled to [0, 1];  y_train, y_test: (n,) int labels 0-9.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    images, labels = load_digits(return_X_y=True)
    X = images.astype(np.float64) / 16.0  # pixels are 0..16
    X_train, X_test, y_train, y_test = train_test_split(
        X, labels, test_size=test_size, train_size=train_size, stratify=labels, random_state=seed)
    return X_train, X_test, y_train.astype(np.intp), y_test.astype(np.intp)


# ---------------------------------------------------------------- the network


def init_mlp(n_in: int, n_hidden: int, n_out: int = NUM_CLASSES, seed: int = 0) -> Params:
    """An MLP x -> relu(x @ W1 + b1) @ W2 + b2 with He-initialised weights and zero biases."""
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_hidden)),
        "b1": np.zeros(n_hidden),
        "W2": rng.normal(0.0, np.sqrt(2.0 / n_hidden), size=(n_hidden, n_out)),
        "b2": np.zeros(n_out),
    }


def forward(params: Params, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The logits (n, n_out) and the hidden activations (n, n_hidden), which ``backward`` needs."""
    hidden = np.maximum(X @ params["W1"] + params["b1"], 0.0)
    return hidden @ params["W2"] + params["b2"], hidden


def backward(params: Params, X: np.ndarray, hidden: np.ndarray, grad_logits: np.ndarray) -> Params:
    """The gradients of a loss w.r.t. every parameter, given its gradient w.r.t. the logits."""
    grad_hidden = (grad_logits @ params["W2"].T) * (hidden > 0)
    return {
        "W1": X.T @ grad_hidden,
        "b1": grad_hidden.sum(axis=0),
        "W2": hidden.T @ grad_logits,
        "b2": grad_logits.sum(axis=0),
    }


def train(params: Params, X: np.ndarray, grad_logits: Callable[[np.ndarray], np.ndarray],
          steps: int = STEPS, lr: float = LEARNING_RATE) -> Params:
    """Full-batch Adam (beta1 0.9, beta2 0.999) for ``steps`` steps; returns new parameters.

    Args:
        params: the starting parameters (not changed).
        X: the training inputs, (n, n_in).
        grad_logits: maps the logits (n, n_out) to the loss's gradient w.r.t. them, for instance
            ``lambda z: hard_label_grad(softmax, z, y)``.  The loss is a mean over the batch, so the
            gradient already carries its 1/n.
        steps, lr: the number of steps and the learning rate.
    """
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    params = {k: v.copy() for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(w) for k, w in params.items()}
    for step in range(1, steps + 1):
        logits, hidden = forward(params, X)
        grads = backward(params, X, hidden, grad_logits(logits))
        for k, g in grads.items():
            m[k] = beta1 * m[k] + (1 - beta1) * g
            v[k] = beta2 * v[k] + (1 - beta2) * g * g
            m_hat, v_hat = m[k] / (1 - beta1**step), v[k] / (1 - beta2**step)
            params[k] -= lr * m_hat / (np.sqrt(v_hat) + eps)
    return params


def accuracy(params: Params, X: np.ndarray, y: np.ndarray) -> float:
    """The share of rows whose largest logit is at the true label."""
    return float(np.mean(forward(params, X)[0].argmax(axis=1) == y))


# ---------------------------------------------------------------- gradients of the losses


def _one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D array of class indices, got shape {labels.shape} {labels.dtype}")
    return np.eye(n_classes)[labels]


def hard_label_grad(softmax: Softmax, logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Gradient of CE = -mean_n ln softmax(z_n)[y_n] w.r.t. the logits z: (softmax(z) - onehot(y)) / N."""
    logits = np.asarray(logits, dtype=np.float64)
    return (np.asarray(softmax(logits, tau=1.0)) - _one_hot(labels, logits.shape[-1])) / len(logits)


def distillation_grad(softmax: Softmax, student_logits: np.ndarray, teacher_logits: np.ndarray,
                      labels: np.ndarray, tau: float, alpha: float) -> np.ndarray:
    """Gradient of the distillation objective w.r.t. the student's logits s (teacher t held fixed):

        alpha * (softmax(s) - onehot(y)) / N + (1 - alpha) * tau * (softmax(s / tau) - softmax(t / tau)) / N

    (d/ds of tau**2 * KL(softmax(t/tau) || softmax(s/tau)) is tau * (softmax(s/tau) - softmax(t/tau))).

    Raises:
        ValueError: tau is not positive, alpha is outside [0, 1], or the logits' shapes differ.
    """
    s = np.asarray(student_logits, dtype=np.float64)
    t = np.asarray(teacher_logits, dtype=np.float64)
    if s.shape != t.shape or s.ndim != 2:
        raise ValueError(f"student and teacher logits must both be (batch, classes), got {s.shape} and {t.shape}")
    if not tau > 0:
        raise ValueError(f"tau must be positive, got {tau}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    soft = tau * (np.asarray(softmax(s, tau=tau)) - np.asarray(softmax(t, tau=tau))) / len(s)
    return alpha * hard_label_grad(softmax, s, labels) + (1 - alpha) * soft


# ---------------------------------------------------------------- teacher, student, sweep


def train_teacher(softmax: Softmax, X: np.ndarray, y: np.ndarray, hidden: int = TEACHER_HIDDEN,
                  seed: int = 0, steps: int = STEPS) -> Params:
    """A wide MLP trained on the hard labels alone."""
    params = init_mlp(X.shape[1], hidden, NUM_CLASSES, seed)
    return train(params, X, lambda z: hard_label_grad(softmax, z, y), steps=steps)


def train_student(softmax: Softmax, X: np.ndarray, y: np.ndarray, teacher_logits: np.ndarray | None = None,
                  tau: float = 1.0, alpha: float = 0.5, hidden: int = STUDENT_HIDDEN, seed: int = 0,
                  steps: int = STEPS) -> Params:
    """A narrow MLP trained on the hard labels (teacher_logits None) or by distillation from them.

    The student starts from the same weights for a given seed either way, so the two differ only
    in their objective.
    """
    params = init_mlp(X.shape[1], hidden, NUM_CLASSES, seed)
    if teacher_logits is None:
        return train(params, X, lambda z: hard_label_grad(softmax, z, y), steps=steps)
    return train(params, X, lambda z: distillation_grad(softmax, z, teacher_logits, y, tau, alpha), steps=steps)


@dataclass
class Sweep:
    """Held-out accuracies of one sweep: the teacher, the hard-label student, and the distilled
    students by (tau, alpha)."""

    teacher: float
    hard: float
    distilled: dict[tuple[float, float], float] = field(default_factory=dict)

    def best(self) -> tuple[tuple[float, float], float]:
        """The (tau, alpha) with the highest accuracy, and that accuracy."""
        return max(self.distilled.items(), key=lambda item: item[1])


def sweep(softmax: Softmax, taus: Sequence[float] = (1.0, 2.0, 4.0, 8.0), alphas: Sequence[float] = (0.1, 0.5),
          seed: int = 0, train_size: int = TRAIN_SIZE, student_hidden: int = STUDENT_HIDDEN,
          teacher_hidden: int = TEACHER_HIDDEN) -> Sweep:
    """Train a teacher, a hard-label student and one distilled student per (tau, alpha); test them all.

    The split, the teacher and every student's starting weights are fixed by ``seed``.  The training
    set is ``train_size`` images (stratified); the test set is half of the digits (899 images).
    """
    X_train, X_test, y_train, y_test = load_split(test_size=0.5, seed=seed, train_size=train_size)
    teacher = train_teacher(softmax, X_train, y_train, hidden=teacher_hidden, seed=seed)
    teacher_logits = forward(teacher, X_train)[0]
    hard = train_student(softmax, X_train, y_train, hidden=student_hidden, seed=seed + 1)
    result = Sweep(teacher=accuracy(teacher, X_test, y_test), hard=accuracy(hard, X_test, y_test))
    for tau in taus:
        for alpha in alphas:
            student = train_student(softmax, X_train, y_train, teacher_logits, tau=tau, alpha=alpha,
                                    hidden=student_hidden, seed=seed + 1)
            result.distilled[(tau, alpha)] = accuracy(student, X_test, y_test)
    return result
