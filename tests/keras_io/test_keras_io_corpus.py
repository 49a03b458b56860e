"""The keras-io corpus (programs/, see README.md) run with ``import minicnn as keras``.

One case per program, each in its own process with a timeout; the programs selected for the
session run a few at a time when the first case asks for its result. A program that still fails
is listed in EXPECTED_FAILURES with the reason: it is xfail(strict=True), so when a fix makes it
pass the case fails until the entry is removed, and the pass count stays honest.
"""

import importlib.util
import os
from pathlib import Path

import pytest


def _load_runner():
    # The test modules run in importlib mode: the runner beside this file is loaded by path.
    spec = importlib.util.spec_from_file_location(
        "keras_io_corpus_runner", Path(__file__).with_name("corpus.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


corpus = _load_runner()
FASHION_MNIST_DIR = os.environ.get("CORPUS_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")

# The reason each program still fails with minicnn (README.md's "Compatibility" section).
EXPECTED_FAILURES = {
    "functional_api__02_plot_model": "keras.utils.plot_model is missing (needs pydot/graphviz)",
    "functional_api__06_multi_input_output": "no recurrent layers (layers.LSTM)",
    "understanding_masking_and_padding__02_mask_generating_layers":
        "no masks (Embedding(mask_zero=True) makes none; no layers.Masking)",
}


def _case(name):
    reason = EXPECTED_FAILURES.get(name)
    if reason is None:
        return name
    return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=reason))


def test_every_expected_failure_is_a_program():
    assert set(EXPECTED_FAILURES) <= set(corpus.program_names())


@pytest.fixture(scope="session")
def corpus_outcomes(request):
    """Runs the corpus programs this session selected, in parallel, once."""
    selected = [item.callspec.params["name"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_program_runs"
                and ("mnist_load_data" not in corpus.source_of(item.callspec.params["name"])
                     or os.path.isdir(FASHION_MNIST_DIR))]
    jobs = int(os.environ.get("MINICNN_CORPUS_JOBS", min(4, os.cpu_count() or 1)))
    return corpus.run_many(selected, jobs=jobs)


@pytest.mark.parametrize("name", [_case(n) for n in corpus.program_names()])
def test_program_runs(name, corpus_outcomes):
    if "mnist_load_data" in corpus.source_of(name) and not os.path.isdir(FASHION_MNIST_DIR):
        pytest.skip(f"needs the Fashion-MNIST files in {FASHION_MNIST_DIR} (CI installs them)")
    outcome = corpus_outcomes[name]
    assert outcome.passed, (
        f"{name}: {outcome.status} after {outcome.seconds:.1f} s\n"
        f"{corpus.error_summary(outcome)}\n--- output tail ---\n{outcome.tail}")
