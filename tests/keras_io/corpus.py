"""Running the corpus: each program in its own Python process, in its own empty directory.

A program passes when it exits with status 0 within the timeout. The same runner serves
`test_keras_io_corpus.py` (minicnn, in CI) and `run_corpus.py` (minicnn beside real Keras).
"""

import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROGRAMS = HERE / "programs"
TIMEOUT_S = 240
TORCH_MARK = "# corpus: keras-backend=torch"


def program_names():
    return sorted(p.stem for p in PROGRAMS.glob("*.py"))


def source_of(name):
    return (PROGRAMS / f"{name}.py").read_text()


def needs_torch_backend(name):
    return TORCH_MARK in source_of(name)


def to_keras(source):
    """The program as its keras-io original imports it: `import keras` and friends, and
    `torch.no_grad()` where the torch guides have it."""
    source = source.replace("import minicnn as keras", "import keras")
    source = re.sub(r"^from minicnn(\.\w+)* import", lambda m: m.group(0).replace("minicnn", "keras"),
                    source, flags=re.M)
    source = source.replace("minicnn.no_grad()", "torch.no_grad()")
    return re.sub(r"^import minicnn$", "import torch", source, flags=re.M)


@dataclass
class Outcome:
    name: str
    passed: bool
    status: str      # "pass", "fail (exit N)", "timeout", or "not run: why"
    tail: str        # the end of what the program printed
    seconds: float


def _last_error_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run_program(name, python=sys.executable, keras=False, timeout=TIMEOUT_S, extra_env=None):
    source = source_of(name)
    env = dict(os.environ, PYTHONPATH=str(HERE), OMP_NUM_THREADS="1", MPLBACKEND="Agg",
               PYTHONHASHSEED="0", TF_CPP_MIN_LOG_LEVEL="3", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONSTARTUP", None)
    if keras:
        source = to_keras(source)
        env["KERAS_BACKEND"] = "torch" if TORCH_MARK in source else "tensorflow"
    env.update(extra_env or {})
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"corpus-{name[:40]}-") as work:
        script = Path(work) / f"{name}.py"
        script.write_text(source)
        try:
            done = subprocess.run([python, script.name], cwd=work, env=env, capture_output=True,
                                  text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as timed_out:
            out = (timed_out.stdout or b"")
            out = out.decode(errors="replace") if isinstance(out, bytes) else out
            return Outcome(name, False, f"timeout ({timeout} s)", out[-3000:],
                           time.perf_counter() - start)
    output = done.stdout + done.stderr
    status = "pass" if done.returncode == 0 else f"fail (exit {done.returncode})"
    return Outcome(name, done.returncode == 0, status, output[-3000:], time.perf_counter() - start)


def run_many(names, jobs=2, **kwargs):
    """Outcomes by name, `jobs` programs at a time (each on one OpenMP thread)."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return dict(zip(names, pool.map(lambda n: run_program(n, **kwargs), names)))


def error_summary(outcome):
    return _last_error_line(outcome.tail)
