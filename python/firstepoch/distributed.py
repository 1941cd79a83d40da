"""Data-parallel training on MPI, the way HPC codes and Horovod scale out: one process per core group or
machine, each with a full copy of the model and its own shard of every global batch; after backward,
the gradients are averaged over the processes with an allreduce, so every process takes the same step.

    mpirun -np 2 python train.py        # or: mpirun -np 2 firstepoch train --distributed

    import firstepoch.distributed as dist
    dist.init()                                   # world of 1 when not started by mpirun
    dist.broadcast_parameters(model)              # every rank starts from rank 0's weights
    sampler = dist.DistributedSampler(len(train), seed=0)
    loader = DataLoader(train, batch_size=global_batch // dist.world_size(), sampler=sampler)
    for epoch in ...:
        sampler.set_epoch(epoch)
        for x, y in loader:
            loss = F.cross_entropy(model(x), y); opt.zero_grad(); loss.backward()
            dist.allreduce_gradients(model)       # a few large allreduce calls, then the mean
            opt.step()
        loss_sum, correct, n = dist.all_reduce([loss_sum, correct, n])   # metrics over all ranks

Why the step equals a single-process step on the global batch: the loss is a mean over the local batch;
DistributedSampler gives every rank the same number of samples (it pads the epoch to a multiple of the
world size), so local batches have equal sizes and the mean of the local means is the global mean.

MPI comes from mpi4py (``pip install "firstepoch[mpi]"``, which also brings PyPI's Open MPI and its
mpirun). Without mpirun nothing here imports mpi4py: init() gives a world of one process, and every
collective is the identity.
"""
import atexit
import os
import sys
import time

import numpy as np

from ._optional import import_optional
from .data import sampler as _data_sampler
from .data.sampler import SeededShuffle, epoch_order

INSTALL_HINT = 'pip install "firstepoch[mpi]"  (mpi4py and Open MPI, with its mpirun)'
BUCKET_BYTES = 25 * 1024 * 1024  # as PyTorch DDP: few calls, each large enough to run at link speed

# Set by the launchers: Open MPI (OMPI_*), PMIx (PRRTE, Slurm), Hydra/MPICH and Intel MPI (PMI_*).
_LAUNCH_VARS = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK", "MPI_LOCALNRANKS")


class _World:
    comm = None  # an mpi4py communicator; None in the single-process world
    exit_comm = None  # a duplicate of comm that carries only the "this rank is leaving" notices
    collectives = 0  # collectives of this module this rank has completed (the same sequence on every rank)
    left = None  # rank -> collectives it had completed when it left (its exit notice), as they arrive
    rank = 0
    size = 1
    local_rank = 0
    local_size = 1
    initialized = False
    allreduce_calls = 0
    allreduce_seconds = 0.0


_world = _World()
_data_sampler._distributed_world = _world  # data.DistributedSampler's num_replicas/rank once init() has run


def launched_by_mpi():
    """True when this process was started by mpirun/mpiexec (or srun with PMI/PMIx)."""
    return any(v in os.environ for v in _LAUNCH_VARS)


def _import_mpi():
    [MPI] = import_optional("mpi4py.MPI",
                            why=f"firstepoch.distributed needs mpi4py when run under mpirun: {INSTALL_HINT}")
    return MPI


def init(threads=None):
    """Joins the MPI world when started by mpirun/mpiexec; otherwise a world of one process. Idempotent.

    threads: kernel threads for this process. Default under MPI: left alone if OMP_NUM_THREADS is set
    or the launcher bound this process to a subset of the cores (its binding already says how many);
    else the cores divided by the ranks on this machine, so ranks do not oversubscribe the machine.
    Without MPI the thread count is left as it is.
    Under MPI no rank waits forever for one that has gone: an uncaught exception in any rank prints its
    traceback and aborts every rank (MPI_Abort). A rank that leaves any other way (sys.exit, a usage
    error, Ctrl-C caught and turned into an exit status, the end of its script) tells the others when
    Python shuts down, then waits until every rank has left too (only then does MPI_Finalize run);
    a rank waiting in one of this module's collectives for a rank that has left aborts the job, and so
    does Ctrl-C on a rank waiting in a collective or at exit. (A collective called on the mpi4py
    communicator directly is not watched.) Returns (rank, world size).
    """
    if _world.initialized:
        return _world.rank, _world.size
    if launched_by_mpi():
        MPI = _import_mpi()
        comm = MPI.COMM_WORLD
        local = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.Get_rank())
        _world.comm, _world.rank, _world.size = comm, comm.Get_rank(), comm.Get_size()
        _world.local_rank, _world.local_size = local.Get_rank(), local.Get_size()
        local.Free()
        _world.exit_comm = comm.Dup()
        _world.left = {}
        _install_abort_hook(comm)
        atexit.register(_leave)  # runs before mpi4py's MPI_Finalize (registered with Py_AtExit)
    _world.initialized = True
    from . import set_num_threads
    if threads is None and _world.comm is not None:
        threads = default_threads(_world.local_size)
    if threads is not None:
        set_num_threads(int(threads))
    return _world.rank, _world.size


def default_threads(local_size):
    """cores // ranks on this machine, or None to keep the OpenMP default (OMP_NUM_THREADS set, or a
    launcher's binding already gave this process its own cores)."""
    if os.environ.get("OMP_NUM_THREADS"):
        return None
    total = os.cpu_count() or 1
    try:
        mine = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        mine = total
    if mine < total:  # bound by the launcher (mpirun --bind-to core): the mask is this rank's share
        return None
    return max(1, total // max(1, local_size))


def _install_abort_hook(comm):
    previous = sys.excepthook

    def abort_all_ranks(kind, value, tb):
        previous(kind, value, tb)
        try:
            sys.stderr.write(f"firstepoch.distributed: rank {comm.Get_rank()} failed; aborting all "
                             f"{comm.Get_size()} ranks\n")
            sys.stderr.flush()
        finally:
            comm.Abort(1)

    sys.excepthook = abort_all_ranks


_EXIT_TAG = 1
_yield_core = getattr(os, "sched_yield", lambda: time.sleep(0))


def _abort(why, code=1):
    w = _world
    try:
        sys.stderr.write(f"firstepoch.distributed: rank {w.rank}: {why}; aborting all {w.size} ranks\n")
        sys.stderr.flush()
    finally:
        w.comm.Abort(code)


def _note_exits(MPI):
    """Receives the exit notices that have arrived (each holds the sender's count of collectives)."""
    w = _world
    status = MPI.Status()
    while w.exit_comm.Iprobe(source=MPI.ANY_SOURCE, tag=_EXIT_TAG, status=status):
        count = np.zeros(1, np.int64)
        w.exit_comm.Recv(count, source=status.Get_source(), tag=_EXIT_TAG)
        w.left[status.Get_source()] = int(count[0])


def _poll(done, MPI, what):
    """Calls done() until it returns True (each call also moves the collective on: a nonblocking
    collective progresses only inside MPI calls). After the first millisecond every turn yields the
    core (sched_yield) to whoever else runs on it; after 0.1 s each turn sleeps 1 ms: by then a rank is
    waiting for a slow peer, not for the network. Between calls, Python handles signals (Ctrl-C) and this
    rank reads the exit notices: a rank that left having completed no more than `w.collectives`
    collectives will never join this one, so the job is aborted instead of waiting for it forever."""
    w = _world
    start = time.perf_counter()
    try:
        while not done():
            _note_exits(MPI)
            gone = sorted(r for r, n in w.left.items() if n <= w.collectives)
            if gone:
                _abort(f"rank(s) {gone} left while this rank waits for them in {what}")
            waited = time.perf_counter() - start
            if waited > 0.1:
                time.sleep(0.001)
            elif waited > 0.001:
                _yield_core()
    except KeyboardInterrupt:
        _abort(f"interrupted in {what}", 130)


def _collective(request, what):
    """Waits for a nonblocking collective of this module (see _poll); counts it when complete."""
    from mpi4py import MPI
    _poll(request.Test, MPI, what)
    _world.collectives += 1


def _leave():
    """At interpreter exit: tells every other rank this one is leaving (and after how many collectives),
    then waits until all have said the same, so MPI_Finalize, which waits for every rank, cannot wait on a
    rank that is stuck in a collective for this one: that rank sees the notice and aborts the job."""
    w = _world
    if w.exit_comm is None or w.size == 1:
        return
    from mpi4py import MPI
    count = np.array([w.collectives], np.int64)
    others = [r for r in range(w.size) if r != w.rank]
    sends = [w.exit_comm.Isend(count, dest=r, tag=_EXIT_TAG) for r in others]

    try:
        while True:
            _note_exits(MPI)
            if len(w.left) == len(others) and MPI.Request.Testall(sends):
                break
            time.sleep(0.001)
    except KeyboardInterrupt:
        _abort("interrupted while waiting for the other ranks to finish", 130)
    w.exit_comm.Free()
    w.exit_comm = None


def _ensure():
    if not _world.initialized:
        init()
    return _world


def is_initialized():
    """Whether init() has run (torch.distributed.is_initialized's question); rank() and world_size()
    run init() themselves, torch.utils.data-style DistributedSampler(num_replicas=None) does not."""
    return _world.initialized


def rank():
    """This process's rank, 0 .. world_size() - 1 (initialises the world if needed)."""
    return _ensure().rank


def world_size():
    return _ensure().size


def local_rank():
    """This process's rank among the ranks on its machine."""
    return _ensure().local_rank


def local_size():
    return _ensure().local_size


def is_main():
    """True on rank 0: the one process that prints, shows a progress bar and writes files."""
    return rank() == 0


def barrier():
    w = _ensure()
    if w.comm is not None:
        _collective(w.comm.Ibarrier(), "barrier")


# ---- collectives over model state ----------------------------------------------------------------

def _params(module_or_params):
    if hasattr(module_or_params, "parameters") and callable(module_or_params.parameters):
        return list(module_or_params.parameters())
    return list(module_or_params)


def _buckets(arrays, bucket_bytes):
    """Consecutive arrays of one dtype grouped into buckets of about bucket_bytes: [(dtype, [index])]."""
    out = []
    size = 0
    for i, a in enumerate(arrays):
        if not out or out[-1][0] != a.dtype or (size + a.nbytes > bucket_bytes and out[-1][1]):
            out.append((a.dtype, []))
            size = 0
        out[-1][1].append(i)
        size += a.nbytes
    return out


def broadcast_parameters(module, root=0, bucket_bytes=BUCKET_BYTES):
    """Copies root's parameters (and a module's array buffers, e.g. batch-norm statistics) into every
    rank, in place, so all ranks start from the same weights."""
    w = _ensure()
    if w.comm is None:
        return
    arrays = [p._data for p in _params(module)]
    if hasattr(module, "named_buffers"):
        arrays += [b._data for _, b in module.named_buffers()]  # buffers are Tensors, as torch
    for dtype, idx in _buckets(arrays, bucket_bytes):
        flat = np.empty(sum(arrays[i].size for i in idx), dtype)
        o = 0
        for i in idx:
            flat[o:o + arrays[i].size] = arrays[i].reshape(-1)
            o += arrays[i].size
        _collective(w.comm.Ibcast(flat, root=root), "broadcast_parameters")
        o = 0
        for i in idx:
            arrays[i][...] = flat[o:o + arrays[i].size].reshape(arrays[i].shape)
            o += arrays[i].size


class _GradBuckets:
    """The flat buffers of one model's gradients, allocated once and reused every step. Each bucket
    holds its parameters' gradients end to end, then one flag per parameter (1 where this rank has a
    gradient), so a parameter no rank touched keeps grad None, as in a single-process run."""

    def __init__(self, params, bucket_bytes):  # keeps no reference to the parameters themselves
        self.buckets = []
        for dtype, idx in _buckets([p._data for p in params], bucket_bytes):
            n = sum(params[i]._data.size for i in idx)
            self.buckets.append((idx, np.empty(n + len(idx), dtype)))


def _layout(params):
    return tuple((id(p), p._data.shape, p._data.dtype.str) for p in params)


_grad_buckets = {}  # layout (ids, shapes, dtypes) -> _GradBuckets; the buffers fit any model of that layout


def allreduce_gradients(module, bucket_bytes=BUCKET_BYTES):
    """Averages every parameter's gradient over the ranks, in place, between backward and
    optimizer.step. The gradients travel in a few contiguous buckets (one MPI_Allreduce each, in place),
    not one call per tensor. A parameter without a gradient on some rank counts as zero there; one
    without a gradient on every rank keeps grad None. Returns the seconds spent (copies included)."""
    w = _ensure()
    if w.comm is None:
        return 0.0
    from mpi4py import MPI
    t0 = time.perf_counter()
    params = [p for p in _params(module) if p.requires_grad]
    key = _layout(params)
    state = _grad_buckets.get(key)
    if state is None:
        if len(_grad_buckets) >= 8:
            _grad_buckets.clear()
        state = _grad_buckets[key] = _GradBuckets(params, bucket_bytes)
    scale = 1.0 / w.size
    for idx, flat in state.buckets:
        o = 0
        flags = flat[len(flat) - len(idx):]
        for k, i in enumerate(idx):
            p = params[i]
            n = p._data.size
            if p.grad is None:
                flat[o:o + n] = 0
                flags[k] = 0
            else:
                flat[o:o + n].reshape(p._data.shape)[...] = p.grad._data
                flags[k] = 1
            o += n
        _collective(w.comm.Iallreduce(MPI.IN_PLACE, flat, op=MPI.SUM), "allreduce_gradients")
        flat[:o] *= flat.dtype.type(scale)
        o = 0
        for k, i in enumerate(idx):
            p = params[i]
            n = p._data.size
            mean = flat[o:o + n].reshape(p._data.shape)
            if flags[k] == 0:
                p.grad = None
            elif p.grad is None:
                p._grad = p.data  # a Tensor (detached) of p's kind, given its own array next
                p._grad._data = mean.copy()
            else:
                p.grad._data[...] = mean
            o += n
    seconds = time.perf_counter() - t0
    w.allreduce_calls += len(state.buckets)
    w.allreduce_seconds += seconds
    return seconds


def allreduce_stats(reset=False):
    """{'calls': MPI_Allreduce calls made by allreduce_gradients, 'seconds': time spent in it}."""
    out = {"calls": _world.allreduce_calls, "seconds": _world.allreduce_seconds}
    if reset:
        _world.allreduce_calls, _world.allreduce_seconds = 0, 0.0
    return out


# ---- metrics -----------------------------------------------------------------------------------------

def all_reduce(values, op="sum"):
    """Sum (or mean, max, min) of a number or array of numbers over all ranks, as float64: e.g. the
    [loss * n, correct, n] sums of an epoch, from which every rank gets the global loss and accuracy.
    A scalar comes back as a float, anything else as an array of its shape."""
    if op not in ("sum", "mean", "max", "min"):
        raise ValueError(f"all_reduce: op must be 'sum', 'mean', 'max' or 'min', got {op!r}")
    scalar = np.ndim(values) == 0
    buf = np.array(values, dtype=np.float64)  # a copy: the caller's values are never changed
    w = _ensure()
    if w.comm is not None:
        from mpi4py import MPI
        mpi_op = {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]
        _collective(w.comm.Iallreduce(MPI.IN_PLACE, buf, op=mpi_op), "all_reduce")
        if op == "mean":
            buf /= w.size
    return float(buf) if scalar else buf


def reduce_metrics(loss_sum, correct, count):
    """(mean loss, accuracy) over all ranks from each rank's (sum of loss * batch size, correct, count)."""
    loss_sum, correct, count = all_reduce([loss_sum, correct, count])
    return loss_sum / max(count, 1), correct / max(count, 1)


# ---- data ----------------------------------------------------------------------------------------------

class DistributedSampler(SeededShuffle):
    """This rank's shard of each epoch: data.SeededShuffle's permutation of range(n) for (seed, epoch) (the
    order firstepoch train uses in one process), padded by wrapping around to a multiple of the world
    size (drop_last: cut instead), then every world_size-th index starting at this rank.

    The shards interleave, so local batch k of every rank together make global batch k of the padded
    order: with batch_size = global_batch // world_size, a distributed run sees the same global batches
    as one process with global_batch. Call set_epoch(e) before each epoch (or call the sampler with
    the epoch: sampler(e) -> indices, the form firstepoch.Trainer takes); both come from SeededShuffle.

    data_source: a dataset (anything with len) or the number of samples.
    """

    def __init__(self, data_source, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        super().__init__(data_source, seed)  # n (checked), seed, epoch 0
        self.num_replicas = world_size() if num_replicas is None else int(num_replicas)
        self.rank = _ensure().rank if rank is None else int(rank)
        if self.num_replicas < 1 or not 0 <= self.rank < self.num_replicas:
            raise ValueError(f"DistributedSampler: rank must be in [0, num_replicas), got rank {self.rank} of "
                             f"{self.num_replicas}")
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        if self.drop_last:
            self.num_samples = self.n // self.num_replicas
        else:
            self.num_samples = -(-self.n // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __len__(self):
        return self.num_samples

    def global_order(self, epoch=None):
        """The padded (or cut) order of all ranks together for an epoch: what one process would visit."""
        return epoch_order(self.n, self.seed, self.epoch if epoch is None else epoch, self.shuffle, self.total_size)

    def indices(self, epoch=None):
        return self.global_order(epoch)[self.rank::self.num_replicas]
