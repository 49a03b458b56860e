"""An optimizer written for Keras 3 (the example of keras.optimizers.Optimizer's docstring, with
only the import changed) runs with minicnn: alone, in fit, with the base arguments, in the
model file."""

import numpy as np
import pytest

import minicnn as keras
from minicnn import ops
from minicnn.reference import optimizers as ref


class MomentumSGD(keras.optimizers.Optimizer):
    # keras/src/optimizers/base_optimizer.py, the BaseOptimizer docstring
    def __init__(self, learning_rate=0.01, momentum=0.9, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum

    def build(self, variables):
        super().build(variables)
        self.momentums = []
        for variable in variables:
            self.momentums.append(
                self.add_variable_from_reference(reference_variable=variable, name="momentum"))

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        m = self.momentums[self._get_variable_index(variable)]
        self.assign(m, ops.subtract(ops.multiply(m, ops.cast(self.momentum, variable.dtype)),
                                    ops.multiply(gradient, learning_rate)))
        self.assign_add(variable, m)

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum})
        return config


class TwoSlots(keras.optimizers.Optimizer):
    # add_optimizer_variables with two names: Keras interleaves them per variable
    def __init__(self, learning_rate=0.1, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)

    def build(self, variables):
        super().build(variables)
        self.first, self.second = self.add_optimizer_variables(variables, ["first", "second"],
                                                               initializer=["zeros", "ones"])

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        self.assign_add(self.first[i], gradient)
        self.assign_sub(variable, ops.multiply(self.second[i], learning_rate))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_the_builtin_momentum_sgd(dtype):
    rng = np.random.default_rng(0)
    w0 = [rng.normal(size=s).astype(dtype) for s in [(3, 2), (2,)]]
    grads = [[rng.normal(size=w.shape).astype(dtype) for w in w0] for _ in range(5)]
    ws = [keras.Variable(w) for w in w0]
    opt = MomentumSGD(learning_rate=0.05, weight_decay=0.1)
    for gs in grads:
        opt.apply(gs, ws)
    for k, w in enumerate(ws):
        want = ref.sgd(w0[k], [gs[k] for gs in grads], 0.05, momentum=0.9, weight_decay=0.1)
        # ops.cast(learning_rate, "float64") goes through float32 in Keras too (0.05000000075)
        np.testing.assert_allclose(w.numpy(), want, rtol=1e-6)
    assert [v.path for v in opt.variables] == [f"{opt.name}/iteration"] + [
        f"{opt.name}/{w.path}_momentum" for w in ws]
    assert int(opt.iterations) == 5


def test_add_optimizer_variables_interleaves_names():
    a, b = keras.Variable(np.ones(2), name="a"), keras.Variable(np.ones(3), name="b")
    opt = TwoSlots()
    opt.apply([np.ones(2), np.ones(3)], [a, b])
    assert [v.name for v in opt.variables[1:]] == ["a_first", "a_second", "b_first", "b_second"]
    np.testing.assert_allclose(a.numpy(), 0.9)
    np.testing.assert_allclose(opt.first[1].numpy(), 1.0)


def test_a_variable_it_was_not_built_with_is_refused():
    a, b = keras.Variable(np.ones(2)), keras.Variable(np.ones(2))
    opt = MomentumSGD()
    opt.apply([np.ones(2)], [a])
    opt.apply([np.ones(2)], [a])  # built once: still one momentum
    assert len(opt.variables) == 2
    with pytest.raises(ValueError, match="Unknown variable"):
        opt.apply([np.ones(2)], [b])
    with pytest.raises(TypeError, match="pass minicnn.Variables, got ndarray"):
        MomentumSGD().apply([np.ones(2)], [np.ones(2)])


def test_a_build_that_forgets_super_is_named():
    class Forgetful(MomentumSGD):
        def build(self, variables):
            self.momentums = []

    with pytest.raises(RuntimeError, match=r"Forgetful.build must call super\(\).build\(variables\)"):
        Forgetful().apply([np.ones(2)], [keras.Variable(np.ones(2))])


def test_fit_save_load_and_resume(check_resumes_exactly):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 4)).astype(np.float32), rng.normal(size=(16, 1)).astype(np.float32)
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, kernel_constraint="non_neg"),
                              keras.layers.Dense(1)])
    model.compile(MomentumSGD(learning_rate=0.05), "mse")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert model.layers[0].kernel.numpy().min() >= 0.0
    loaded = check_resumes_exactly(model, x, y, batch_size=8,
                                   custom_objects={"MomentumSGD": MomentumSGD})
    assert loaded.optimizer.momentum == 0.9
