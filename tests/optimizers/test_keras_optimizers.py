"""Every optimizer against Keras 3's update equations (minicnn.reference.optimizers) in float32
and float64, against the numbers of Keras' own tests, and through config, ``get`` and the
model file."""

import json

import numpy as np
import pytest

import minicnn
from minicnn import layers, optimizers
from minicnn.reference import optimizers as ref

# (class, reference, minicnn's and the reference's keyword arguments)
CASES = [
    (optimizers.SGD, ref.sgd, {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    (optimizers.Adam, ref.adam, {"learning_rate": 0.01, "amsgrad": True}),
    (optimizers.AdamW, ref.adam, {"learning_rate": 0.01, "weight_decay": 0.1}),
    (optimizers.RMSprop, ref.rmsprop, {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    (optimizers.Adagrad, ref.adagrad, {"learning_rate": 0.1}),
    (optimizers.Adadelta, ref.adadelta, {"learning_rate": 1.0, "rho": 0.8, "weight_decay": 0.01}),
    (optimizers.Adamax, ref.adamax, {"learning_rate": 0.05, "beta_1": 0.8}),
    (optimizers.Nadam, ref.nadam, {"learning_rate": 0.05}),
    (optimizers.Nadam, ref.nadam, {"learning_rate": 0.5, "beta_1": 0.5, "beta_2": 0.67,
                                   "epsilon": 1e-5, "weight_decay": 0.1}),
    (optimizers.Lion, ref.lion, {"learning_rate": 0.01, "beta_1": 0.8, "weight_decay": 0.1}),
    (optimizers.Ftrl, ref.ftrl, {"learning_rate": 0.05}),
    (optimizers.Ftrl, ref.ftrl, {"learning_rate": 0.05, "learning_rate_power": -0.2,
                                 "initial_accumulator_value": 0.4, "l1_regularization_strength": 0.05,
                                 "l2_regularization_strength": 0.15,
                                 "l2_shrinkage_regularization_strength": 0.01, "beta": 0.3}),
    (optimizers.Lamb, ref.lamb, {"learning_rate": 0.01}),
    (optimizers.Lamb, ref.lamb, {"learning_rate": 0.01, "weight_decay": 0.05}),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _, _) in enumerate(CASES)]
NEW = [optimizers.Adadelta, optimizers.Adamax, optimizers.Nadam, optimizers.Lion, optimizers.Ftrl,
       optimizers.Lamb]


def _reference_kwargs(kwargs):
    out = dict(kwargs)
    out["lr"] = out.pop("learning_rate")
    return out


@pytest.mark.parametrize("dtype,rtol,atol", [(np.float64, 1e-11, 1e-13), (np.float32, 3e-5, 3e-6)])
@pytest.mark.parametrize("cls,reference,kwargs", CASES, ids=IDS)
def test_matches_the_keras_equations_over_several_steps(cls, reference, kwargs, dtype, rtol, atol):
    rng = np.random.default_rng(7)
    shapes = [(3, 4), (5,)]
    w0 = [rng.normal(size=s).astype(dtype) for s in shapes]
    grads = [[rng.normal(size=s).astype(dtype) for s in shapes] for _ in range(6)]
    ws = [minicnn.Variable(w) for w in w0]
    opt = cls(**kwargs)
    for gs in grads:
        opt.apply(gs, ws)
    for k, w in enumerate(ws):
        want = reference(w0[k], [gs[k] for gs in grads], **_reference_kwargs(kwargs))
        assert w.dtype == dtype and want.dtype == dtype
        np.testing.assert_allclose(w.numpy(), want, rtol=rtol, atol=atol)


# ------------------------------------------------------------------ Keras' own numbers
GOLDEN = {
    # keras/src/optimizers/*_test.py, test_correctness_with_golden: one step with 0.01, then
    # five with arange(0.1, 1.1, 0.1), checked before each of the five (rtol = atol = 5e-4)
    "AdamW": ({"learning_rate": 1.0, "weight_decay": 0.5, "epsilon": 2}, "float32", [
        [0.4998] * 10,
        [0.2486, 0.2475, 0.2463, 0.2451, 0.244, 0.2428, 0.2417, 0.2405, 0.2394, 0.2382],
        [0.1223, 0.1198, 0.1174, 0.1149, 0.1124, 0.11, 0.1075, 0.1051, 0.1027, 0.1003],
        [0.0586, 0.0549, 0.0512, 0.0475, 0.0439, 0.0402, 0.0366, 0.033, 0.0294, 0.0258],
        [0.0263, 0.0215, 0.0167, 0.012, 0.0073, 0.0026, -0.0021, -0.0067, -0.0113, -0.0159]]),
    "Nadam": ({"learning_rate": 0.5, "beta_1": 0.5, "beta_2": 0.67, "epsilon": 1e-5}, "float32", [
        [0.4281] * 10,
        [-0.1738, -0.1731, -0.1726, -0.1723, -0.1721, -0.172, -0.1719, -0.1718, -0.1718, -0.1717],
        [-0.7115, -0.7103, -0.7096, -0.7092, -0.709, -0.7088, -0.7086, -0.7085, -0.7085, -0.7084],
        [-1.2335, -1.2322, -1.2313, -1.2309, -1.2306, -1.2304, -1.2302, -1.2301, -1.23, -1.2299],
        [-1.7492, -1.7478, -1.7469, -1.7464, -1.7461, -1.7459, -1.7457, -1.7456, -1.7455, -1.7454]]),
    "Adamax": ({"learning_rate": 0.2, "beta_1": 0.85, "beta_2": 0.95, "epsilon": 1e-6}, "float32", [
        [0.8] * 10,
        [0.6827, 0.6873, 0.6888, 0.6896, 0.6901, 0.6904, 0.6906, 0.6908, 0.6909, 0.691],
        [0.5333, 0.5407, 0.5431, 0.5444, 0.5451, 0.5456, 0.546, 0.5462, 0.5464, 0.5466],
        [0.368, 0.3773, 0.3804, 0.382, 0.3829, 0.3835, 0.384, 0.3843, 0.3846, 0.3848],
        [0.1933, 0.204, 0.2076, 0.2094, 0.2105, 0.2112, 0.2117, 0.2121, 0.2124, 0.2126]]),
    "Adadelta": ({"learning_rate": 1.0, "rho": 0.8, "epsilon": 1e-6}, "float64",
                 [[v] * 10 for v in (0.9978, 0.9947, 0.9915, 0.9882, 0.9849)]),
    "Lion": ({}, "float64", [[v] * 10 for v in (0.999, 0.998, 0.997, 0.996, 0.995)]),
    "Lamb": ({}, "float32", [[v] * 10 for v in (0.999, 0.9982, 0.9974, 0.9965, 0.9955)]),
    "Ftrl": ({"learning_rate": 0.05, "learning_rate_power": -0.2, "initial_accumulator_value": 0.4,
              "l1_regularization_strength": 0.05, "l2_regularization_strength": 0.15,
              "l2_shrinkage_regularization_strength": 0.01, "beta": 0.3}, "float64", [
        [0.0] * 10,
        [-0.0034, -0.0077, -0.0118, -0.0157, -0.0194, -0.023, -0.0263, -0.0294, -0.0325, -0.0354],
        [-0.0078, -0.0162, -0.0242, -0.0317, -0.0387, -0.0454, -0.0516, -0.0575, -0.0631, -0.0685],
        [-0.0121, -0.0246, -0.0363, -0.0472, -0.0573, -0.0668, -0.0757, -0.0842, -0.0922, -0.0999],
        [-0.0164, -0.0328, -0.0481, -0.0623, -0.0753, -0.0875, -0.099, -0.1098, -0.1201, -0.1299]]),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_keras_golden_numbers(name):
    kwargs, dtype, golden = GOLDEN[name]
    opt = getattr(optimizers, name)(**kwargs)
    x = minicnn.Variable(np.ones(10, dtype))
    grads = np.arange(0.1, 1.1, 0.1).astype(dtype)
    opt.apply_gradients([(np.full(10, 0.01, dtype), x)])
    for row in golden:
        np.testing.assert_allclose(x.numpy(), row, rtol=5e-4, atol=5e-4)
        opt.apply_gradients([(grads, x)])


@pytest.mark.parametrize("name,expected", [
    # keras/src/optimizers/*_test.py, test_single_step: learning_rate=0.5 (rtol = atol = 1e-4)
    ("AdamW", [0.4980, 1.4960, 2.494, 3.492]), ("Nadam", [0.4686, 1.4686, 2.4686, 3.4686]),
    ("Adamax", [0.5, 1.5, 2.5, 3.5]), ("Adadelta", [0.9993, 1.9993, 2.9993, 3.9993]),
    ("Lion", [0.5, 1.5, 2.5, 3.5]), ("Ftrl", [0.2218, 1.3954, 2.3651, 2.8814]),
    ("Lamb", [-0.3693, 0.6306, 1.6306, 2.6306])])
def test_keras_single_step(name, expected):
    x = minicnn.Variable([1.0, 2.0, 3.0, 4.0])
    getattr(optimizers, name)(learning_rate=0.5).apply_gradients(
        [(np.array([1.0, 6.0, 7.0, 2.0], np.float32), x)])
    np.testing.assert_allclose(x.numpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("cls", [optimizers.AdamW, optimizers.Nadam, optimizers.Adamax,
                                 optimizers.Adadelta])
def test_keras_weight_decay_numbers_and_exclusions(cls):
    # keras/src/optimizers/*_test.py, test_weight_decay: a zero gradient leaves the decay alone
    zero = np.zeros((), np.float32)
    var1, var2, var3 = (minicnn.Variable(2.0), minicnn.Variable(2.0, name="exclude"),
                        minicnn.Variable(2.0))
    cls(learning_rate=1.0, weight_decay=0.004).apply_gradients([(zero, var1)])
    by_name = cls(learning_rate=1.0, weight_decay=0.004)
    by_name.exclude_from_weight_decay(var_names=["exclude"])
    by_name.apply_gradients([(zero, var1), (zero, var2)])
    by_list = cls(learning_rate=1.0, weight_decay=0.004)
    by_list.exclude_from_weight_decay(var_list=[var3])
    by_list.apply_gradients([(zero, var1), (zero, var3)])
    assert float(var1) == pytest.approx(1.9760959, abs=1e-6)
    assert float(var2) == 2.0 and float(var3) == 2.0


@pytest.mark.parametrize("name", ["adam", "sgd", "adamw", "adagrad", "rmsprop", "adadelta", "adamax",
                                  "lion", "nadam", "ftrl", "lamb"])
def test_accumulated_steps_equal_one_step_with_the_mean_gradient(name):
    # keras/src/optimizers/optimizer_test.py, test_gradient_accumulation_with_weigth_decay
    one = optimizers.get({"class_name": name, "config": {"weight_decay": 0.05}})
    three = optimizers.get({"class_name": name, "config": {"weight_decay": 0.05,
                                                           "gradient_accumulation_steps": 3}})
    v1, v3 = minicnn.Variable([[0.9], [0.5]]), minicnn.Variable([[0.9], [0.5]])
    rng = np.random.default_rng(0)
    for _ in range(8):
        grads = rng.random((3, 2, 1)).astype(np.float32)
        one.apply_gradients([(grads.mean(axis=0), v1)])
        for g in grads:
            three.apply_gradients([(g, v3)])
    np.testing.assert_allclose(v3.numpy(), v1.numpy(), rtol=1e-5, atol=1e-6)
    assert int(three.iterations) == int(one.iterations) == 8


# Made once with real Keras 3.15.1 (TensorFlow backend, /work/venvs/tf): for each case,
# ``opt = keras.optimizers.<Name>(**kwargs); v = keras.Variable(W0)``, then
# ``opt.apply([g], [v])`` for each g of GRADS; the values are ``v.numpy()`` (float32) at the end.
W0 = np.array([0.5, -1.0, 1.5, -2.0], np.float32)
GRADS = [np.sin(np.arange(4) + 1.7 * k).astype(np.float32) * (k + 1) for k in range(5)]
KERAS_3_15_1 = {
    "Adadelta": ({"learning_rate": 1.0, "rho": 0.8},
                 [0.49986714124679565, -1.001265525817871, 1.4986809492111206, -2.000426769256592]),
    "Adamax": ({"learning_rate": 0.05, "beta_1": 0.8},
               [0.47754642367362976, -1.0858778953552246, 1.4582942724227905, -2.0268096923828125]),
    "Nadam": ({"learning_rate": 0.05},
              [0.485262930393219, -1.0786583423614502, 1.4547077417373657, -2.036357879638672]),
    "Lion": ({"learning_rate": 0.01, "beta_1": 0.8, "weight_decay": 0.1},
             [0.4975050091743469, -1.0049700736999512, 1.4825149774551392, -1.9999802112579346]),
    "Ftrl": ({"learning_rate": 0.05, "learning_rate_power": -0.2, "initial_accumulator_value": 0.4,
              "l1_regularization_strength": 0.05, "l2_regularization_strength": 0.15,
              "l2_shrinkage_regularization_strength": 0.01, "beta": 0.3},
             [-0.004111167974770069, -0.21079863607883453, 0.1565384864807129, -0.016471054404973984]),
    "Lamb": ({"learning_rate": 0.01, "weight_decay": 0.05},
             [0.49098724126815796, -1.0239543914794922, 1.476846694946289, -2.002713203430176]),
    "AdamW": ({"learning_rate": 0.01},
              [0.4932335317134857, -1.0162125825881958, 1.492183804512024, -2.0026676654815674]),
    # the moving averages overwrite the variable after the third update
    "Adam": ({"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.5, "ema_overwrite_frequency": 3},
             [0.4967232644557953, -1.01536226272583, 1.4891680479049683, -2.006903648376465]),
    # two updates (after the second and the fourth call) and one call accumulated
    "SGD": ({"learning_rate": 0.1, "momentum": 0.9, "gradient_accumulation_steps": 2},
            [0.5350778102874756, -0.9819691181182861, 1.4844064712524414, -2.034881353378296]),
}
# Keras 3.15.1, the "Adam" case above, then ``opt.finalize_variable_values([v])``
KERAS_3_15_1_ADAM_FINALIZED = [0.4957542419433594, -1.0147979259490967, 1.4913313388824463,
                               -2.0056838989257812]


@pytest.mark.parametrize("name", sorted(KERAS_3_15_1))
def test_matches_real_keras_3_15_1(name):
    kwargs, expected = KERAS_3_15_1[name]
    opt = getattr(optimizers, name)(**kwargs)
    v = minicnn.Variable(W0)
    for g in GRADS:
        opt.apply([g], [v])
    np.testing.assert_allclose(v.numpy(), expected, rtol=1e-6, atol=1e-7)
    if name == "Adam":
        opt.finalize_variable_values([v])
        np.testing.assert_allclose(v.numpy(), KERAS_3_15_1_ADAM_FINALIZED, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------ config, get, validation
@pytest.mark.parametrize("opt", [
    optimizers.Adadelta(0.5, rho=0.9, epsilon=1e-6, clipnorm=1.0),
    optimizers.Adamax(0.01, beta_1=0.8, beta_2=0.9, use_ema=True, ema_momentum=0.9),
    optimizers.Nadam(0.01, beta_2=0.99, gradient_accumulation_steps=2),
    optimizers.Lion(3e-4, beta_1=0.95, beta_2=0.98, weight_decay=0.1, loss_scale_factor=8.0),
    optimizers.Ftrl(0.05, learning_rate_power=-0.2, initial_accumulator_value=0.4,
                    l1_regularization_strength=0.05, l2_regularization_strength=0.15,
                    l2_shrinkage_regularization_strength=0.01, beta=0.3, global_clipnorm=2.0),
    optimizers.Lamb(0.002, epsilon=1e-6, use_ema=True, ema_overwrite_frequency=5),
], ids=lambda o: type(o).__name__)
def test_config_round_trips_through_json_and_get(opt):
    blob = json.loads(json.dumps(optimizers.serialize(opt)))
    again = optimizers.get(blob)
    assert type(again) is type(opt) and again.get_config() == opt.get_config()
    rng = np.random.default_rng(1)
    w0, grads = rng.normal(size=(4,)), [rng.normal(size=(4,)) for _ in range(4)]
    a, b = minicnn.Variable(w0), minicnn.Variable(w0)
    for g in grads:
        opt.apply([g], [a])
        again.apply([g], [b])
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_get_knows_every_keras_name_in_any_case():
    for cls in NEW + [optimizers.AdamW]:
        assert type(optimizers.get(cls.__name__.lower())) is cls
        assert type(optimizers.get(cls.__name__)) is cls
        assert type(optimizers.get({"class_name": cls.__name__.lower(), "config": {}})) is cls
    assert optimizers.get(None) is None


def test_keras_defaults_of_the_new_optimizers():
    assert (optimizers.Adadelta().learning_rate, optimizers.Adadelta().rho) == (0.001, 0.95)
    lion = optimizers.Lion()
    assert (lion.learning_rate, lion.beta_1, lion.beta_2) == (0.001, 0.9, 0.99)
    ftrl = optimizers.Ftrl()
    assert (ftrl.learning_rate_power, ftrl.initial_accumulator_value, ftrl.beta) == (-0.5, 0.1, 0.0)
    for cls in (optimizers.Adamax, optimizers.Nadam, optimizers.Lamb):
        opt = cls()
        assert (opt.learning_rate, opt.beta_1, opt.beta_2, opt.epsilon) == (0.001, 0.9, 0.999, 1e-7)


@pytest.mark.parametrize("make,message", [
    (lambda: optimizers.Ftrl(initial_accumulator_value=-0.1),
     r"`initial_accumulator_value` needs to be positive or zero. Received: initial_accumulator_value=-0.1"),
    (lambda: optimizers.Ftrl(learning_rate_power=0.1),
     r"`learning_rate_power` needs to be negative or zero. Received: learning_rate_power=0.1"),
    (lambda: optimizers.Ftrl(l1_regularization_strength=-0.1), r"`l1_regularization_strength` needs"),
    (lambda: optimizers.Ftrl(l2_shrinkage_regularization_strength=-1),
     r"`l2_shrinkage_regularization_strength` needs"),
    (lambda: optimizers.Lion(beta_1=0.0), r"degenerates to SignSGD"),
    (lambda: optimizers.Lion(beta_1=1.5), r"beta_1"),
    (lambda: optimizers.Nadam(beta_2=float("nan")), r"beta_2"),
    (lambda: optimizers.AdamW(weight_decay=None),
     r"`weight_decay` must be a float. Received: weight_decay=None"),
    (lambda: optimizers.Adadelta(rho=-1), r"rho"),
])
def test_bad_hyperparameters_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# ------------------------------------------------------------------ state in the model file
def _model():
    minicnn.utils.set_random_seed(3)
    return minicnn.Sequential([minicnn.Input((4,)), layers.Dense(3, activation="relu"), layers.Dense(1)])


@pytest.mark.parametrize("make", [
    lambda: optimizers.Adadelta(1.0), lambda: optimizers.Adamax(0.01), lambda: optimizers.Nadam(0.01),
    lambda: optimizers.Lion(1e-3), lambda: optimizers.Ftrl(0.1), lambda: optimizers.Lamb(0.01),
    lambda: optimizers.Adam(0.01, use_ema=True, ema_momentum=0.5),
    lambda: optimizers.SGD(0.05, momentum=0.9, gradient_accumulation_steps=2),
], ids=["Adadelta", "Adamax", "Nadam", "Lion", "Ftrl", "Lamb", "Adam-ema", "SGD-accumulation"])
def test_saved_state_resumes_training_exactly(make, check_resumes_exactly):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 4)).astype(np.float32), rng.normal(size=(12, 1)).astype(np.float32)
    model = _model()
    model.compile(make(), "mse")
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)  # 3 calls: state is mid-cycle
    check_resumes_exactly(model, x, y, batch_size=4)
