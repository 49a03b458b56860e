#!/usr/bin/env bash
# Kernel tests under AddressSanitizer + UndefinedBehaviorSanitizer.
#
# Builds the compiled kernels with MINICNN_SANITIZE=address,undefined (setup.py: -O1 -g
# -fsanitize=... -fno-omit-frame-pointer) in a scratch copy of the tree, so the in-place
# build of the working tree is never touched, then runs the kernel tests against that build.
# Python itself is not instrumented, so the ASan runtime is LD_PRELOADed (it must come first)
# and leak detection is off (CPython keeps interned objects alive until exit by design).
#
# Exits non-zero when the build fails, a test fails, or any sanitizer report is written.
#   SANITIZE_TESTS="tests/kernels/test_gemm.py ..."   override the test files (default: every compiled kernel's tests + determinism)
#   PYTHON=python3.11                         interpreter to use (needs numpy, Cython, pytest, hypothesis)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
TESTS=${SANITIZE_TESTS:-tests/kernels tests/test_determinism.py}
start=$(date +%s)

case "$(uname -s)" in
  Linux) ;;
  *) echo "sanitize.sh: LD_PRELOAD of the GCC sanitizer runtime is Linux-only; skipping on $(uname -s)"; exit 0 ;;
esac
CC=${CC:-gcc}
LIBASAN=$("$CC" -print-file-name=libasan.so)
if [ ! -e "$LIBASAN" ]; then
  echo "sanitize.sh: $CC has no libasan.so ($LIBASAN); install the sanitizer runtime (libasan)" >&2
  exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/minicnn-sanitize.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# Sources only: compiled modules and Cython-generated C from the working tree must not leak in.
tar -C "$ROOT" --exclude='*.so' --exclude='__pycache__' --exclude='minicnn/_kernels/_*.c' \
    -cf - setup.py pyproject.toml README.md LICENSE minicnn tests | tar -C "$WORK" -xf -

echo "== build with MINICNN_SANITIZE=address,undefined ($CC, in $WORK)"
(cd "$WORK" && CC="$CC" MINICNN_SANITIZE=address,undefined "$PYTHON" setup.py -q build_ext --inplace -j 2 \
   >"$WORK/build.log" 2>&1) || { tail -n 60 "$WORK/build.log"; echo "sanitize.sh: build FAILED" >&2; exit 1; }
for so in "$WORK"/minicnn/_kernels/_*.so; do
  # a module that did not link against the sanitizer runtime would make the run meaningless
  # (not `ldd | grep -q`: under pipefail grep's early exit can SIGPIPE ldd and fail the test)
  deps=$(ldd "$so")
  case "$deps" in *libasan*) ;; *) echo "sanitize.sh: $so is not instrumented" >&2; exit 1 ;; esac
done
echo "built: $(cd "$WORK" && ls minicnn/_kernels/*.so | xargs -n1 basename | tr '\n' ' ')"

LOGDIR="$WORK/reports"
mkdir -p "$LOGDIR"
echo "== pytest $TESTS (ASan + UBSan, LD_PRELOAD=$LIBASAN)"
set +e
(cd "$WORK" && \
  LD_PRELOAD="$LIBASAN" \
  ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:exitcode=86:log_path=$LOGDIR/asan" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87:log_path=$LOGDIR/ubsan" \
  OMP_WAIT_POLICY=PASSIVE PYTHONPATH="$WORK" PYTHONFAULTHANDLER=1 \
  "$PYTHON" -m pytest -q -p no:cacheprovider $TESTS)
rc=$?
set -e

reports=$(ls "$LOGDIR" 2>/dev/null || true)
if [ -n "$reports" ]; then
  for f in "$LOGDIR"/*; do echo "---- $(basename "$f")"; cat "$f"; done
  echo "sanitize.sh: SANITIZER REPORT(S) above (pytest exit $rc)" >&2
  exit 1
fi
echo "== sanitize.sh: pytest exit $rc, no sanitizer reports, $(( $(date +%s) - start )) s"
exit $rc
