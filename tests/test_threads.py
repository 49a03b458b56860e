"""Thread control: set_num_threads / get_num_threads / num_threads, OMP_NUM_THREADS,
threadpoolctl, other Python threads, and fork after parallel work.

These tests run against whichever minicnn is imported (the installed wheel under
cibuildwheel, the in-place build in a checkout).  Subprocesses put that package's parent
directory first on sys.path, so they never pick up a different copy.
"""

import multiprocessing
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import minicnn
from minicnn._kernels import _openmp

OPENMP = _openmp.openmp_enabled()


def _omp(n):
    """What OpenMP reports for a request of n threads: n with OpenMP, 1 in a serial build."""
    return n if OPENMP else 1


@pytest.fixture(autouse=True)
def _restore_thread_setting():
    """Every test starts deferring to OpenMP and leaves the setting as it found it."""
    saved = _openmp.get_user_threads()
    _openmp.set_num_threads(0)
    try:
        yield
    finally:
        _openmp.set_num_threads(saved)


def _run_python(code, **env):
    """Run ``code`` in a fresh interpreter that imports this very minicnn; return its stdout."""
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(minicnn.__file__)))
    full_env = dict(os.environ)
    for key in ("OMP_NUM_THREADS", "OMP_THREAD_LIMIT", "OMP_DYNAMIC"):
        full_env.pop(key, None)
    full_env.update(env)
    prelude = f"import sys; sys.path.insert(0, {package_parent!r})\n"
    out = subprocess.run(
        [sys.executable, "-c", prelude + code], env=full_env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, f"subprocess failed ({out.returncode}):\n{out.stdout}\n{out.stderr}"
    return out.stdout


# --------------------------------------------------------------------------- the Python API


def test_set_and_get_num_threads():
    minicnn.set_num_threads(1)
    assert minicnn.get_num_threads() == 1
    minicnn.set_num_threads(3)
    assert minicnn.get_num_threads() == 3  # an explicit request is honoured even above the core count


def test_default_follows_openmp():
    # Nothing set: the kernels ask OpenMP at call time, which is >= 1.
    assert minicnn.get_num_threads() >= 1
    assert minicnn.get_num_threads() == _openmp.get_num_threads()


@pytest.mark.parametrize("bad", [0, -1, -8])
def test_set_num_threads_rejects_non_positive(bad):
    minicnn.set_num_threads(2)
    with pytest.raises(ValueError, match="num_threads"):
        minicnn.set_num_threads(bad)
    assert minicnn.get_num_threads() == 2  # unchanged by the failed call


@pytest.mark.parametrize("bad", [1.5, "2", 2.0])
def test_set_num_threads_rejects_non_integers(bad):
    with pytest.raises(TypeError, match="num_threads"):
        minicnn.set_num_threads(bad)


def test_set_num_threads_none_returns_to_the_openmp_default():
    minicnn.set_num_threads(1)
    assert minicnn.get_num_threads() == 1
    minicnn.set_num_threads(None)
    assert _openmp.get_user_threads() == 0
    with minicnn.num_threads(None):  # also accepted by the context manager
        assert _openmp.get_user_threads() == 0


def test_set_num_threads_accepts_numpy_integers():
    minicnn.set_num_threads(np.int64(2))
    assert minicnn.get_num_threads() == 2


def test_context_manager_sets_and_restores():
    minicnn.set_num_threads(2)
    with minicnn.num_threads(1):
        assert minicnn.get_num_threads() == 1
        with minicnn.num_threads(3):
            assert minicnn.get_num_threads() == 3
        assert minicnn.get_num_threads() == 1
    assert minicnn.get_num_threads() == 2


def test_context_manager_restores_the_openmp_default():
    default = minicnn.get_num_threads()
    with minicnn.num_threads(default + 1):
        assert minicnn.get_num_threads() == default + 1
    # back to deferring to OpenMP, not pinned to a number
    assert _openmp.get_user_threads() == 0
    assert minicnn.get_num_threads() == default


def test_context_manager_restores_on_exception():
    minicnn.set_num_threads(2)
    with pytest.raises(RuntimeError, match="boom"):
        with minicnn.num_threads(1):
            assert minicnn.get_num_threads() == 1
            raise RuntimeError("boom")
    assert minicnn.get_num_threads() == 2


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-2, ValueError), (1.5, TypeError), ("1", TypeError)])
def test_context_manager_validates_before_changing_anything(bad, exc):
    minicnn.set_num_threads(2)
    with pytest.raises(exc, match="num_threads"):
        with minicnn.num_threads(bad):
            pytest.fail("the body must not run with an invalid thread count")
    assert minicnn.get_num_threads() == 2


def test_gemm_result_does_not_depend_on_thread_count():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((97, 61))
    b = rng.standard_normal((61, 45))
    with minicnn.num_threads(1):
        one = minicnn.linalg.gemm(a, b)
    with minicnn.num_threads(2):
        two = minicnn.linalg.gemm(a, b)
    np.testing.assert_allclose(one, a @ b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(two, one, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- OpenMP's own controls


@pytest.mark.parametrize("n", [1, 3])
def test_omp_num_threads_is_honoured(n):
    out = _run_python("import minicnn; print(minicnn.get_num_threads())", OMP_NUM_THREADS=str(n))
    assert int(out.split()[-1]) == _omp(n)


def test_explicit_setting_overrides_omp_num_threads():
    out = _run_python(
        "import minicnn; minicnn.set_num_threads(2); print(minicnn.get_num_threads())", OMP_NUM_THREADS="1"
    )
    assert int(out.split()[-1]) == 2


def test_threadpoolctl_limits_are_honoured():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    minicnn.linalg.gemm(np.ones((4, 4)), np.ones((4, 4)))  # make sure our runtime is loaded
    before = minicnn.get_num_threads()
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert minicnn.get_num_threads() == 1
        c = minicnn.linalg.gemm(np.ones((300, 20)), np.ones((20, 7)))
        np.testing.assert_array_equal(c, np.full((300, 7), 20.0))
    assert minicnn.get_num_threads() == before


def test_threadpoolctl_sees_our_openmp_runtime():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    minicnn.linalg.gemm(np.ones((4, 4)), np.ones((4, 4)))
    openmp = [info for info in threadpoolctl.threadpool_info() if info["user_api"] == "openmp"]
    if OPENMP:
        assert openmp, f"threadpoolctl found no OpenMP runtime: {threadpoolctl.threadpool_info()}"
        assert set(minicnn._config.config()["openmp_runtimes"]) == {info["filepath"] for info in openmp}


# --------------------------------------------------------------------------- other Python threads


def _in_thread(fn):
    result, errors = [], []

    def target():
        try:
            result.append(fn())
        except BaseException as exc:  # surfaced to the test below
            errors.append(exc)

    t = threading.Thread(target=target)
    t.start()
    t.join(timeout=60)
    assert not t.is_alive(), "worker thread did not finish"
    if errors:
        raise errors[0]
    return result[0]


def test_setting_applies_in_other_python_threads():
    minicnn.set_num_threads(1)
    assert _in_thread(minicnn.get_num_threads) == 1
    minicnn.set_num_threads(3)
    assert _in_thread(minicnn.get_num_threads) == 3


def test_setting_made_in_another_thread_applies_here():
    _in_thread(lambda: minicnn.set_num_threads(1))
    assert minicnn.get_num_threads() == 1


def test_context_manager_in_main_thread_is_seen_by_workers():
    with minicnn.num_threads(1):
        assert _in_thread(minicnn.get_num_threads) == 1


def test_gemm_from_several_python_threads():
    rng = np.random.default_rng(1)
    mats = [(rng.standard_normal((70, 33)), rng.standard_normal((33, 29))) for _ in range(4)]
    results = [None] * len(mats)

    def work(i):
        a, b = mats[i]
        results[i] = minicnn.linalg.gemm(a, b)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(mats))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    for (a, b), c in zip(mats, results):
        np.testing.assert_allclose(c, a @ b, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- fork


def _child_gemm(n, queue):
    rng = np.random.default_rng(7)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    c = minicnn.linalg.gemm(a, b)
    queue.put(float(np.abs(c - a.astype(np.float64) @ b.astype(np.float64)).max()))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork does not exist on this platform")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_fork_after_parallel_work_does_not_hang():
    n = 256  # many row blocks: the parent's call really opens a parallel region
    rng = np.random.default_rng(3)
    a = rng.standard_normal((n, n)).astype(np.float32)
    with minicnn.num_threads(2):
        minicnn.linalg.gemm(a, a)  # the OpenMP pool now exists in the parent
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        child = ctx.Process(target=_child_gemm, args=(n, queue))
        child.start()
        child.join(timeout=90)
        if child.is_alive():  # a hang must fail the test, not CI's time limit
            child.kill()
            child.join(10)
            pytest.fail("a child forked after parallel work hung in minicnn.linalg.gemm")
    assert child.exitcode == 0, f"forked child exited with {child.exitcode}"
    err = queue.get(timeout=10)
    assert err < 1e-2 * n**0.5, f"forked child's gemm is wrong: max abs error {err}"


def _child_asks_for_two_threads(n, queue):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        minicnn.set_num_threads(2)
    threads = minicnn.get_num_threads()
    _child_gemm(n, queue)
    queue.put((threads, [str(w.message) for w in caught]))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork does not exist on this platform")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_forked_child_asking_for_more_threads_warns_and_stays_serial():
    n = 256
    a = np.random.default_rng(4).standard_normal((n, n)).astype(np.float32)
    with minicnn.num_threads(2):
        minicnn.linalg.gemm(a, a)
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        child = ctx.Process(target=_child_asks_for_two_threads, args=(n, queue))
        child.start()
        child.join(timeout=90)
        if child.is_alive():
            child.kill()
            child.join(10)
            pytest.fail("a forked child that asked for 2 threads hung")
    assert child.exitcode == 0, f"forked child exited with {child.exitcode}"
    err = queue.get(timeout=10)
    threads, messages = queue.get(timeout=10)
    assert err < 1e-2 * n**0.5
    assert threads == 1
    assert any("fork" in m and "spawn" in m for m in messages), messages


# --------------------------------------------------------------------------- limits
def test_absurd_thread_counts_are_capped_with_a_warning():
    cap = minicnn._threads.max_threads()
    assert cap == minicnn._threads.MAX_THREADS_PER_CPU * (os.cpu_count() or 1)
    with pytest.warns(RuntimeWarning, match=rf"num_threads\(1000000\) capped at {cap}"):
        minicnn.set_num_threads(10**6)
    assert minicnn.get_num_threads() == _omp(cap)
    with pytest.warns(RuntimeWarning, match="capped"):
        with minicnn.num_threads(10**30):  # beyond a C int: capped, not an OverflowError
            assert minicnn.get_num_threads() == _omp(cap)


def test_absurd_omp_num_threads_is_capped_with_a_warning():
    """OMP_NUM_THREADS=100000 used to reach the OpenMP runtime untouched: the first kernel
    started 100,000 threads."""
    code = (
        "import warnings\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('always')\n"
        "    import minicnn\n"
        "print(minicnn.get_num_threads(), minicnn._threads.max_threads())\n"
        "minicnn.set_num_threads(None)\n"
        "print(minicnn.get_num_threads())\n"
        "import numpy as np; o = minicnn.Tensor(np.ones((64, 64), np.float32))\n"
        "print(int((o @ o).numpy()[0, 0]))\n"
        "print('|'.join(str(w.message) for w in seen))\n"
    )
    lines = _run_python(code, OMP_NUM_THREADS="100000").splitlines()
    threads, cap = map(int, lines[0].split())
    assert threads == _omp(cap)
    assert int(lines[1]) == _omp(cap)  # returning to "the default" keeps the cap
    assert int(lines[2]) == 64
    assert f"OMP_NUM_THREADS=100000 capped at {cap}" in lines[3]


@pytest.mark.skipif(not OPENMP or not sys.platform.startswith("linux"),
                    reason="an address-space limit that stops thread stacks (Linux, OpenMP build)")
def test_thread_start_failure_is_a_python_error():
    """Under a memory limit, asking for threads that cannot start raises here; without the check
    the next kernel call died inside libgomp ("Thread creation failed") and took the process."""
    out = _run_python(
        "import resource, minicnn, numpy as np\n"
        "a = np.ones((512, 512), np.float32); c = np.empty_like(a)\n"
        "minicnn.set_num_threads(1); minicnn.linalg.gemm(a, a, c)\n"
        "n = minicnn._threads.max_threads()\n"
        "vm = int([l for l in open('/proc/self/status') if l.startswith('VmSize')][0].split()[1]) * 1024\n"
        "# room for small allocations, not for n - 1 >= 7 thread stacks (8 MiB each by default)\n"
        "resource.setrlimit(resource.RLIMIT_AS, (vm + (12 << 20), resource.RLIM_INFINITY))\n"
        "try:\n"
        "    minicnn.set_num_threads(n)\n"
        "except RuntimeError as exc:\n"
        "    print('refused:', exc)\n"
        "print('threads now', minicnn.get_num_threads())\n"
        "minicnn.linalg.gemm(a, a, c)  # a parallel GEMM: libgomp would exit here\n"
        "print('gemm ok', float(c[0, 0]))\n")
    assert "refused: num_threads(" in out and "cannot start" in out, out
    assert "threads now 1" in out and "gemm ok 512.0" in out, out
