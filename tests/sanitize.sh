#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer.
#
#   tests/sanitize.sh [pytest args]        (default: the whole suite, tests/)
#
# Builds _C with -C cmake.define.FIRSTEPOCH_SANITIZE=ON into a private venv (FE_ASAN_VENV, default
# build-asan/venv; never the shared environment, where an instrumented _C would break every import
# that does not preload libasan), then runs pytest there with gcc's libasan preloaded into the
# interpreter. Any ASan or UBSan report aborts the process, so the run fails on the first one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=${FE_ASAN_VENV:-$root/build-asan/venv}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q numpy pytest hypothesis threadpoolctl tqdm matplotlib pillow scikit-build-core pybind11
fi
"$venv/bin/pip" install -q --no-build-isolation --no-deps -C build-dir="$root/build-asan" \
  -C cmake.define.FIRSTEPOCH_SANITIZE=ON -C cmake.build-type=RelWithDebInfo "$root"

libasan=$(${CXX:-g++} -print-file-name=libasan.so)
[ -f "$libasan" ] || { echo "sanitize.sh: libasan.so not found (got '$libasan')" >&2; exit 2; }
# detect_leaks=0: CPython keeps its interned objects and module state until exit (not our leaks).
# allocator_may_return_null=1: a huge allocation returns NULL (MemoryError / std::bad_alloc) instead
# of aborting, as it would without ASan; the huge-allocation tests rely on it.
# libstdc++ preloaded beside libasan: python itself is not C++, and ASan's __cxa_throw interceptor
# must find the real one at start-up, or the first C++ exception aborts ("real___cxa_throw != 0").
libstdcxx=$(${CXX:-g++} -print-file-name=libstdc++.so)
export LD_PRELOAD="$libasan $libstdcxx"
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:abort_on_error=1:halt_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
export FE_FUZZ_CASE_TIMEOUT=${FE_FUZZ_CASE_TIMEOUT:-300}
export FE_FUZZ_EXAMPLES=${FE_FUZZ_EXAMPLES:-60}  # instrumented code runs ~5x slower; the plain run does 300
# GCC 12's ASan runtime has no fork handler: a forked child that runs Python can deadlock on an allocator
# lock another thread held at the fork. conftest.py skips the tests that fork such a child (marked
# fork_child) here.
export FE_SANITIZE=1
# A hang must fail this run with tracebacks, not use up CI's time: past FE_SANITIZE_TIMEOUT seconds
# (default 2400; the suite takes ~11 minutes here) pytest gets SIGABRT, and its faulthandler prints
# every thread's Python stack before the process dies.
limit=${FE_SANITIZE_TIMEOUT:-2400}

cd "$root/build-asan"  # not the repository root: the tests must import the venv's firstepoch
"$venv/bin/python" - <<'PY'
import firstepoch, firstepoch._C as C, sys
assert sys.prefix in C.__file__, f"expected the sanitizer build under {sys.prefix}, got {C.__file__}"
print("sanitizer build:", C.__file__, firstepoch.cpu_info()["isa"])
PY
# test paths are given relative to the repository root; with none, the whole suite
args=() paths=0
for a in "$@"; do
  if [[ $a != -* && -e "$root/${a%%::*}" ]]; then args+=("$root/$a"); paths=1; else args+=("$a"); fi
done
[ $paths = 1 ] || args+=("$root/tests")
# --capture=sys: pytest captures Python's sys.stdout/stderr only, so a sanitizer report written to
# file descriptor 2 reaches the log even when the process aborts.
log="$root/build-asan/pytest.log"
set +e
timeout --signal=ABRT --kill-after=60 "$limit" \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider --capture=sys "${args[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" != 124 ] || echo "== sanitize.sh: pytest ran past ${limit} s and was aborted (a hang? stacks above)" >&2
if grep -qE "runtime error:|ERROR: AddressSanitizer|AddressSanitizer: CHECK" "$log"; then
  echo "== sanitizers: reports above (first: $(grep -m1 -E 'runtime error:|AddressSanitizer' "$log"))" >&2
  [ "$rc" != 0 ] || rc=1
else
  echo "== sanitizers: no ASan or UBSan report"
fi
exit "$rc"
