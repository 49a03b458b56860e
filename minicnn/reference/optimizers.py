"""Keras 3's optimizer update equations, written out in plain NumPy: the oracle the tests compare
``minicnn.optimizers`` with.

Each function takes the initial variable ``w``, the gradients of successive steps and the
hyperparameters, and returns ``w`` after those steps.  Arithmetic stays in ``w``'s dtype, as in
Keras (Python floats are weak scalars in NumPy 2).  ``t`` is the step number from 1 (Keras'
``iterations + 1``).  ``weight_decay`` is the base optimizer's decoupled decay, applied before
each step: ``w -= w * weight_decay * lr``.
"""

import math

import numpy as np

__all__ = ["sgd", "adam", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "lion", "ftrl", "lamb"]


def _steps(w, grads, lr, weight_decay):
    """A copy of ``w``, and the ``(t, g)`` of each step, ``g`` in ``w``'s dtype; the copy, which
    the steps update in place, gets the decoupled weight decay before each."""
    w = np.array(w, copy=True)

    def steps():
        for t, g in enumerate(grads, start=1):
            w[...] = w - w * weight_decay * lr
            yield t, np.asarray(g, dtype=w.dtype)

    return w, steps()


def _moments(g, m, v, beta_1, beta_2):
    """Adam's moving averages of the gradient and of its square."""
    return m + (g - m) * (1 - beta_1), v + (g * g - v) * (1 - beta_2)


def sgd(w, grads, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
    w, steps = _steps(w, grads, lr, weight_decay)
    v = np.zeros_like(w)
    for _, g in steps:
        if momentum:
            v = momentum * v - lr * g
            w += momentum * v - lr * g if nesterov else v
        else:
            w -= lr * g
    return w


def adam(w, grads, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, weight_decay=0.0):
    w, steps = _steps(w, grads, lr, weight_decay)
    m, v, v_hat = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for t, g in steps:
        m, v = _moments(g, m, v, beta_1, beta_2)
        v_hat = np.maximum(v_hat, v)
        alpha = lr * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        w -= alpha * m / (np.sqrt(v_hat if amsgrad else v) + epsilon)
    return w


def rmsprop(w, grads, lr=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, weight_decay=0.0):
    w, steps = _steps(w, grads, lr, weight_decay)
    v, a, mom = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for _, g in steps:
        v = rho * v + (1 - rho) * g * g
        if centered:
            a = rho * a + (1 - rho) * g
            denominator = v - a * a + epsilon
        else:
            denominator = v + epsilon
        step = lr * g / np.sqrt(denominator)
        if momentum:
            mom = momentum * mom + step
            step = mom
        w -= step
    return w


def adagrad(w, grads, lr=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=0.0):
    w, steps = _steps(w, grads, lr, weight_decay)
    acc = np.full_like(w, initial_accumulator_value)
    for _, g in steps:
        acc = acc + g * g
        w -= lr * g / np.sqrt(acc + epsilon)
    return w


def adadelta(w, grads, lr=0.001, rho=0.95, epsilon=1e-7, weight_decay=0.0):
    w, steps = _steps(w, grads, lr, weight_decay)
    acc_g, acc_delta = np.zeros_like(w), np.zeros_like(w)
    for _, g in steps:
        acc_g = rho * acc_g + (1 - rho) * g * g
        delta = -np.sqrt(acc_delta + epsilon) * g / np.sqrt(acc_g + epsilon)
        acc_delta = rho * acc_delta + (1 - rho) * delta * delta
        w += lr * delta
    return w


def adamax(w, grads, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=0.0):
    w, steps = _steps(w, grads, lr, weight_decay)
    m, u = np.zeros_like(w), np.zeros_like(w)
    for t, g in steps:
        m = m + (g - m) * (1 - beta_1)
        u = np.maximum(beta_2 * u, np.abs(g))
        w -= lr * m / ((1 - beta_1 ** t) * (u + epsilon))
    return w


def nadam(w, grads, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=0.0):
    w, steps = _steps(w, grads, lr, weight_decay)
    m, v = np.zeros_like(w), np.zeros_like(w)
    u_product = w.dtype.type(1.0)  # Keras keeps it in the variables' dtype

    def u(step):  # Dozat's momentum schedule
        return beta_1 * (1 - 0.5 * 0.96 ** step)

    for t, g in steps:
        u_product = u_product * u(t)
        m, v = _moments(g, m, v, beta_1, beta_2)
        m_hat = u(t + 1) * m / (1 - u_product * u(t + 1)) + (1 - u(t)) * g / (1 - u_product)
        v_hat = v / (1 - beta_2 ** t)
        w -= m_hat * lr / (np.sqrt(v_hat) + epsilon)
    return w


def lion(w, grads, lr=0.001, beta_1=0.9, beta_2=0.99, weight_decay=0.0):
    w, steps = _steps(w, grads, lr, weight_decay)
    m = np.zeros_like(w)
    for _, g in steps:
        w -= lr * np.sign(m * beta_1 + g * (1 - beta_1))
        m = m * beta_2 + g * (1 - beta_2)
    return w


def ftrl(w, grads, lr=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
         l1_regularization_strength=0.0, l2_regularization_strength=0.0,
         l2_shrinkage_regularization_strength=0.0, beta=0.0, weight_decay=0.0):
    w, steps = _steps(w, grads, lr, weight_decay)
    acc, linear = np.full_like(w, initial_accumulator_value), np.zeros_like(w)
    p = -learning_rate_power
    l1 = l1_regularization_strength
    l2 = l2_regularization_strength + beta / (2.0 * lr)
    for _, g in steps:
        new_acc = acc + g * g
        linear = linear + (g + 2 * l2_shrinkage_regularization_strength * w
                           - (new_acc ** p - acc ** p) / lr * w)
        quadratic = new_acc ** p / lr + 2 * l2
        w[...] = (np.clip(linear, -l1, l1) - linear) / quadratic
        acc = new_acc
    return w


def lamb(w, grads, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=0.0):
    w, steps = _steps(w, grads, lr, weight_decay)
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t, g in steps:
        m, v = _moments(g, m, v, beta_1, beta_2)
        update = (m / (1 - beta_1 ** t)) / (np.sqrt(v / (1 - beta_2 ** t)) + epsilon)
        w_norm, u_norm = np.linalg.norm(w), np.linalg.norm(update)
        ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
        w -= ratio * lr * update
    return w
