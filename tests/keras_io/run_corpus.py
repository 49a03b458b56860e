"""Runs the keras-io corpus with minicnn and with real Keras 3, and prints both pass counts.

    python tests/keras_io/run_corpus.py                       # minicnn with this Python
    python tests/keras_io/run_corpus.py --keras-python /path/to/venv/bin/python

The Keras run uses the original imports (`import keras`, `torch.no_grad()`): the interpreter
given by --keras-python needs keras with tensorflow, and torch for the programs of the torch
guides (they run with KERAS_BACKEND=torch; without torch they are reported as not run).
"""

import argparse
import subprocess
import sys

import corpus  # beside this script, which is how it is run (its folder is sys.path[0])


def _has_module(python, module):
    probe = subprocess.run([python, "-c", f"import {module}"], capture_output=True)
    return probe.returncode == 0


def _cell(outcome):
    if outcome is None:
        return "-"
    return f"{'pass' if outcome.passed else outcome.status} ({outcome.seconds:.0f} s)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keras-python", help="a Python with keras 3 (and tensorflow)")
    parser.add_argument("--jobs", type=int, default=2, help="programs run at once (default 2)")
    parser.add_argument("--timeout", type=float, default=corpus.TIMEOUT_S,
                        help=f"seconds per program (default {corpus.TIMEOUT_S})")
    parser.add_argument("-k", default="", help="only programs whose name contains this")
    parser.add_argument("-v", action="store_true", help="print each failure's last line")
    args = parser.parse_args(argv)

    names = [n for n in corpus.program_names() if args.k in n]
    mini = corpus.run_many(names, jobs=args.jobs, timeout=args.timeout)
    real, not_run = {}, []
    if args.keras_python:
        torch_ok = _has_module(args.keras_python, "torch")
        runnable = [n for n in names if torch_ok or not corpus.needs_torch_backend(n)]
        not_run = [n for n in names if n not in runnable]
        real = corpus.run_many(runnable, jobs=args.jobs, timeout=args.timeout,
                              python=args.keras_python, keras=True)

    width = max(len(n) for n in names)
    print(f"{'program'.ljust(width)}  {'minicnn':<22}  keras")
    for name in names:
        keras_cell = "not run (no torch)" if name in not_run else _cell(real.get(name))
        print(f"{name.ljust(width)}  {_cell(mini[name]):<22}  {keras_cell}")
        if args.v:
            for label, outcome in (("minicnn", mini[name]), ("keras", real.get(name))):
                if outcome is not None and not outcome.passed:
                    print(f"    {label}: {corpus.error_summary(outcome)[:160]}")

    passed = sum(o.passed for o in mini.values())
    print(f"\nminicnn: {passed} of {len(names)} programs pass")
    if args.keras_python:
        keras_passed = sum(o.passed for o in real.values())
        line = f"keras:   {keras_passed} of {len(names)} programs pass"
        if not_run:
            line += f" ({len(not_run)} not run: the torch guides need torch for KERAS_BACKEND=torch)"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
