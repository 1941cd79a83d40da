"""bench/common.py keeps the NumPy column honest: NumPy's BLAS runs on the row's thread count, fixed
through the environment before NumPy loads when threadpoolctl is missing, and left out where neither can
hold it."""
import os
import subprocess
import sys

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")


def run(code, *argv, hide_threadpoolctl=True):
    prelude = ("import sys\n"
               + ("sys.modules['threadpoolctl'] = None\n" if hide_threadpoolctl else "")
               + f"sys.argv = ['bench.py', *{list(argv)!r}]\nsys.path.insert(0, {BENCH!r})\n")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_blas_threads_set_from_the_command_line_before_numpy_loads():
    code = "import common, os\nprint(os.environ['OPENBLAS_NUM_THREADS'], common._ENV_BLAS_THREADS)"
    assert run(code) == ["1", "1"]
    assert run(code, "--threads", "2") == ["2", "2"]
    assert run(code, "--quick", "--threads", "1", "3", "2", "--json", "f") == ["3", "3"]
    assert run(code, "--threads=4") == ["4", "4"]


def test_numpy_column_left_out_when_its_threads_are_unknown():
    code = ("import common\n"
            "common.blas_threads(1)\nprint(common.NUMPY_THREADS_KNOWN)\n"
            "common.blas_threads(2)\nprint(common.NUMPY_THREADS_KNOWN)\n"
            "row = common.ratio_row(('op', 'x'), 'fwd', {'fe': 1.0, 'np': 2.0})\n"
            "print(row['numpy ms'], row['fe vs numpy'])")
    assert run(code, "--threads", "1") == ["True", "False", "None", "None"]


def test_numpy_loaded_first_is_never_trusted_without_threadpoolctl():
    code = "import numpy\nimport common\ncommon.blas_threads(1)\nprint(common.NUMPY_THREADS_KNOWN)"
    assert run(code) == ["False"]
