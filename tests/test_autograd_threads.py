"""Autograd across Python threads: grad mode, anomaly mode and the profiler belong to the thread that
sets them (a new thread starts with grad on, anomaly off, no profile), and backward passes that run at
once in several threads lose no gradient. Barriers force the interleavings; nothing here is timed."""
import sys
import threading

import numpy as np
import pytest

import firstepoch as fe
from firstepoch import autograd


def run_threads(barrier, *targets):
    """Runs each target in its own thread and re-raises the first error one of them raised. A failing
    thread aborts the barrier, so the others stop at once instead of waiting out its timeout."""
    errors = []

    def guarded(target):
        def run():
            try:
                target()
            except BaseException as e:  # noqa: BLE001  (re-raised in the test's thread below)
                errors.append(e)
                if barrier is not None:
                    barrier.abort()
        return run

    threads = [threading.Thread(target=guarded(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
    if real or errors:
        raise (real or errors)[0]


def leaf():
    return fe.tensor(np.array([1.0, 2.0]), requires_grad=True)


# ---- grad mode ---------------------------------------------------------------------------------------

def test_interleaved_no_grad_blocks_restore_each_threads_own_state():
    step = threading.Barrier(2, timeout=30)

    def a():
        with fe.no_grad():
            step.wait()  # 1: a is inside its block
            step.wait()  # 2: b is inside its block too
        assert fe.is_grad_enabled(), "a: grad still off after its no_grad block ended"
        step.wait()      # 3: a has left its block, b has not
        step.wait()      # 4: b has left

    def b():
        step.wait()      # 1
        with fe.no_grad():
            step.wait()  # 2
            step.wait()  # 3
            assert not fe.is_grad_enabled(), "b: another thread's block ending turned grad on in b's block"
            assert not (leaf() * 2).requires_grad
        assert fe.is_grad_enabled(), "b: grad left off after its no_grad block ended"
        step.wait()      # 4

    run_threads(step, a, b)
    assert fe.is_grad_enabled()


def test_a_thread_records_the_graph_while_another_is_in_no_grad():
    step = threading.Barrier(2, timeout=30)

    def a():
        with fe.no_grad():
            step.wait()  # 1: a is inside no_grad
            step.wait()  # 2: b has run its step
            assert not (leaf() * 2).requires_grad

    def b():
        step.wait()      # 1
        x = leaf()
        y = (x * 3).sum()
        assert y.requires_grad, "b recorded no graph while a was in no_grad"
        y.backward()
        np.testing.assert_array_equal(x.grad, [3.0, 3.0])
        step.wait()      # 2

    run_threads(step, a, b)


@pytest.mark.filterwarnings("ignore:invalid value encountered in log")
def test_a_new_thread_starts_with_grad_on_anomaly_off_and_no_profile():
    seen = {}

    def child():
        seen["grad"] = fe.is_grad_enabled()
        seen["anomaly"] = autograd.is_anomaly_enabled()
        x = leaf()
        seen["recorded"] = (x * 2).requires_grad
        seen["log of -1"] = fe.tensor([-1.0]).log().item()  # no anomaly error in this thread

    with fe.no_grad(), autograd.detect_anomaly(), fe.profile() as prof:
        run_threads(None, child)
        assert not fe.is_grad_enabled() and autograd.is_anomaly_enabled() and prof.active
    assert seen["grad"] is True and seen["anomaly"] is False and seen["recorded"] is True
    assert np.isnan(seen["log of -1"])
    assert prof.counts() == {}  # the child's Mul and Log ran outside this thread's profile


def test_decorated_functions_and_one_shared_no_grad_object_interleave_safely():
    step = threading.Barrier(2, timeout=30)
    shared = fe.no_grad()  # one object entered by both threads, each from a different state

    @fe.enable_grad()
    def with_grad():
        step.wait()      # 2: both threads are inside a decorated call
        step.wait()      # 3
        return (leaf() * 2).requires_grad

    def a():
        with shared:
            step.wait()  # 1: a is in `shared`
            step.wait()  # 2: b entered `shared` from grad off
        assert fe.is_grad_enabled(), "a: leaving `shared` restored b's state, not a's"
        step.wait()      # 3
        assert with_grad() and fe.is_grad_enabled()

    def b():
        fe.set_grad_enabled(False)  # b's own state, set as a plain call
        step.wait()      # 1
        with shared:
            step.wait()  # 2
        step.wait()      # 3
        assert not fe.is_grad_enabled(), "b: leaving `shared` did not restore b's grad-off state"
        assert with_grad() and not fe.is_grad_enabled()

    run_threads(step, a, b)
    assert fe.is_grad_enabled()


def test_set_grad_enabled_is_a_call_a_context_manager_and_a_decorator():
    assert fe.is_grad_enabled()
    fe.set_grad_enabled(False)  # a plain call: the mode changes at once, until changed again
    try:
        assert not fe.is_grad_enabled() and not (leaf() * 2).requires_grad
    finally:
        fe.set_grad_enabled(True)
    assert fe.is_grad_enabled()
    with fe.set_grad_enabled(False):
        assert not fe.is_grad_enabled()
        with fe.set_grad_enabled(True):
            assert (leaf() * 2).requires_grad
        assert not fe.is_grad_enabled()
    assert fe.is_grad_enabled()

    @fe.set_grad_enabled(False)  # decorating does not change the mode; each call does
    def infer(x):
        return x * 2

    assert fe.is_grad_enabled()
    assert not infer(leaf()).requires_grad and fe.is_grad_enabled()
    assert infer.__name__ == "infer"


# ---- anomaly mode and the profiler -------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:invalid value encountered in log")
def test_anomaly_mode_is_per_thread():
    step = threading.Barrier(2, timeout=30)

    def a():
        with autograd.detect_anomaly():
            step.wait()  # 1: a has turned detection on
            step.wait()  # 2: b has run a NaN-making op
            with pytest.raises(RuntimeError, match="anomaly detected: LogFn forward"):
                fe.tensor([-1.0]).log()
        assert not autograd.is_anomaly_enabled()

    def b():
        step.wait()      # 1
        assert not autograd.is_anomaly_enabled(), "b sees a's anomaly mode"
        assert np.isnan(fe.tensor([-1.0]).log().item())
        step.wait()      # 2

    run_threads(step, a, b)
    assert not autograd.is_anomaly_enabled()


def test_profiles_record_only_their_own_thread():
    step = threading.Barrier(2, timeout=30)
    x = fe.ones(2, 2)
    profs = {}

    def a():
        with fe.profile() as prof:
            profs["a"] = prof
            x + x
            step.wait()  # 1: a's profile is active
            step.wait()  # 2: b has run its ops
        assert not prof.active

    def b():
        step.wait()      # 1
        x * x            # not in a's profile
        with pytest.raises(RuntimeError, match="active in another thread"):
            with profs["a"]:
                pass
        with fe.profile() as own:  # b may profile itself while a does
            x - x
        profs["b"] = own
        step.wait()      # 2

    run_threads(step, a, b)
    assert profs["a"].counts() == {("AddFn", "forward"): 1}
    assert profs["b"].counts() == {("SubFn", "forward"): 1}


# ---- concurrent backward into one leaf ---------------------------------------------------------------

@pytest.fixture
def fast_switching():
    """Makes the interpreter switch threads as often as it can, so unguarded read-modify-writes interleave."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


# Gradients big enough that NumPy releases the GIL inside each addition, so another thread's
# read-modify-write of .grad can land in the middle of it (with 16 entries a loss is rare).
N_THREADS, N_PASSES, SIZE = 8, 200, 1 << 16


def test_concurrent_backward_into_one_shared_leaf_loses_nothing(fast_switching):
    w = fe.tensor(np.zeros(SIZE), requires_grad=True)
    start = threading.Barrier(N_THREADS, timeout=30)

    def worker():
        start.wait()
        for _ in range(N_PASSES):
            (w * 1.0).sum().backward()  # adds exactly 1.0 to every entry of w.grad

    run_threads(start, *[worker] * N_THREADS)
    np.testing.assert_array_equal(w.grad, np.full(SIZE, float(N_THREADS * N_PASSES)))


def test_concurrent_backward_keeps_hooks_and_retained_grads_exact(fast_switching):
    w = fe.tensor(np.zeros(SIZE), requires_grad=True)
    h = w * 1.0              # one non-leaf shared by every thread's graph
    h.retain_grad()
    calls = []
    w.register_hook(lambda g: calls.append(1))  # list.append is atomic; counts every leaf gradient
    start = threading.Barrier(N_THREADS, timeout=30)

    def worker():
        start.wait()
        for _ in range(N_PASSES):
            (h * 2.0).sum().backward(retain_graph=True)

    run_threads(start, *[worker] * N_THREADS)
    total = float(N_THREADS * N_PASSES)
    np.testing.assert_array_equal(h.grad, np.full(SIZE, 2.0 * total))
    np.testing.assert_array_equal(w.grad, np.full(SIZE, 2.0 * total))
    assert len(calls) == N_THREADS * N_PASSES


def test_hooks_registered_from_many_threads_at_once_are_all_kept(fast_switching):
    for _ in range(400):
        w = fe.tensor(np.zeros(2), requires_grad=True)
        calls = []
        start = threading.Barrier(N_THREADS, timeout=30)

        def register(i):
            def run():
                start.wait()
                w.register_hook(lambda g, i=i: calls.append(i))
            return run

        run_threads(start, *[register(i) for i in range(N_THREADS)])
        w.sum().backward()
        assert sorted(calls) == list(range(N_THREADS)), "a hook registered at the same time as another was lost"
