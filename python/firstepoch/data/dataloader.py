"""DataLoader: batches of a dataset as firstepoch Tensors. A dataset with a `batch(indices)` method
(TensorDataset, and a Subset of one) is batched with one fancy-indexing call per array; any other
dataset is read sample by sample and collated. num_workers=N reads the batches in N worker processes
(worker.py), as torch.utils.data.DataLoader does."""
import itertools
import multiprocessing as _mp
import queue
import time
import weakref

import numpy as np

from ..random import as_generator
from ..tensor import Tensor
from .collate import default_collate
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler
from .worker import (ExceptionWrapper, IterableStop, Reset, apply_transform, fetch, fetch_one, iterable_batch,
                     worker_loop)


# Array dtypes a Tensor keeps as they are (tensor.py's _as_data): such a batch array is wrapped, not converted.
_KEPT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.bool_))


def _to_tensor(batch):
    """A batch with its NumPy arrays and scalars of numbers made Tensors, through tuples, lists and dicts;
    anything else (strings, Python numbers, Tensors, objects) is left as it is, as torch's default_convert
    does, so a collate_fn's output keeps its structure."""
    if type(batch) is np.ndarray:
        if batch.dtype in _KEPT_DTYPES:
            return Tensor._wrap(batch, False)  # what Tensor(batch) makes, without its conversion checks
        return Tensor(batch) if batch.dtype.kind in "biuf" else batch
    if isinstance(batch, tuple):
        items = [_to_tensor(b) for b in batch]
        return type(batch)(*items) if hasattr(batch, "_fields") else tuple(items)  # a namedtuple keeps its type
    if isinstance(batch, list):
        return [_to_tensor(b) for b in batch]
    if isinstance(batch, dict):
        return {k: _to_tensor(v) for k, v in batch.items()}
    if isinstance(batch, np.generic) and batch.dtype.kind in "biuf":
        return Tensor(batch)
    return batch


def _index_batches(batch_sampler):
    """A batch sampler's batches as the loader reads them: BatchSampler's own int64 arrays (no list of
    ints made and read back per batch), or whatever a user's batch sampler yields."""
    if isinstance(batch_sampler, BatchSampler) and type(batch_sampler).__iter__ is BatchSampler.__iter__:
        return batch_sampler.index_arrays()
    return iter(batch_sampler)


class DataLoader:
    """Iterates over `dataset` in batches of Tensors (PyTorch's arguments).

    batch_size: samples per batch; drop_last drops a short last batch (else it is yielded as it is).
        None turns automatic batching off (as torch): each sample comes on its own, its NumPy arrays made
        Tensors, through collate_fn if one is given.
    shuffle: a new order every epoch, drawn from `generator` (an int seed, a firstepoch.Generator or a
        numpy.random.Generator, kept across epochs, so two loaders given the same seed give the same epochs);
        None draws from firstepoch.manual_seed's generator at the start of each epoch.
    sampler / batch_sampler: an explicit order (then leave shuffle off), or explicit index batches (then
        leave batch_size at 1, and shuffle, sampler and drop_last unset).
    collate_fn: turns a list of samples into a batch; giving one turns off the fast path. What it returns
        reaches the loop as it made it, but for its NumPy arrays of numbers (through tuples, lists and
        dicts), which become Tensors (torch's collate functions make Tensors themselves).
    transform: applied to each batch's first array (the inputs) before it becomes a Tensor, e.g. an
        augmentation from firstepoch.data.transforms (in the worker, with num_workers > 0).
    An IterableDataset is iterated in order and batched as it yields (no sampler, no shuffle, as torch).

    num_workers: 0 reads the batches in this process; N > 0 in N worker processes (the fork start method
        where the platform has it, else its default; `multiprocessing_context` picks another). Map-style:
        batch k goes to worker k mod N; batches come back in order whatever the workers' speed. Each worker
        gets its own copy of the dataset, is seeded as torch (firstepoch.manual_seed and random.seed with
        base_seed + worker_id; base_seed is drawn per iterator, or once with persistent_workers, from
        `generator`, else from firstepoch's global generator), then calls worker_init_fn(worker_id);
        get_worker_info() tells code running in it its id, num_workers, seed and dataset. Kernels in a
        forked worker run on one thread (the OpenMP pool does not survive fork), so they cannot deadlock.
    prefetch_factor: batches each worker has in hand ahead of the consumer (default 2 with workers; must be
        None without, as torch). persistent_workers: keep the workers (and their dataset copies) across
        epochs. timeout: seconds to wait for a batch from the workers, else RuntimeError (0: forever).
        A worker's exception is raised here with the worker's traceback text in its message. The workers
        end when the iterator is exhausted or deleted, on an exception (KeyboardInterrupt included), and
        by themselves if this process dies.
    pin_memory, pin_memory_device, in_order: accepted for PyTorch code and ignored: CPU memory needs no
        pinning, and batches always come in order.

    Deliberate differences from PyTorch: base_seed is drawn from a child stream spawned off the generator
    (numpy's SeedSequence.spawn), so it does not advance the stream the shuffle order comes from: a seeded
    loader gives the same orders with any num_workers; the seeds' values are NumPy's, not torch's. Workers
    do not seed NumPy's legacy global RNG (torch does not either).
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True, transform=None):
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self._generator = None if generator is None else as_generator(generator, "DataLoader")
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, "
                                 f"but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, "
                                 f"but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                                 f"but got batch_sampler={batch_sampler}")
            if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                           or batch_size <= 0):
                raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
            self.batch_size = batch_size
        elif batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler is exclusive with batch_size, shuffle, sampler "
                                 "and drop_last")
            sampler = SequentialSampler(dataset)  # as torch: the loader's sampler attribute is never None
            self.batch_size = None
        elif batch_size is None:  # no automatic batching: each sample on its own, as torch
            if drop_last:
                raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                                 "drop_last")
            if sampler is not None and shuffle:
                raise ValueError("DataLoader: give either sampler or shuffle=True, not both")
            if sampler is None:
                sampler = (RandomSampler(dataset, generator=self._generator) if shuffle
                           else SequentialSampler(dataset))
            self.batch_size = None
        else:
            if sampler is not None and shuffle:
                raise ValueError("DataLoader: give either sampler or shuffle=True, not both")
            if sampler is None:
                sampler = (RandomSampler(dataset, generator=self._generator) if shuffle
                           else SequentialSampler(dataset))
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)  # checks batch_size
            self.batch_size = batch_sampler.batch_size
        self.dataset = dataset
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn
        self.transform = transform
        self.num_workers = int(num_workers)
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = bool(persistent_workers)
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.pin_memory = bool(pin_memory)
        self.pin_memory_device = pin_memory_device
        self.in_order = in_order
        self._iterator = None

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)  # TypeError when the stream has no length, as torch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is None:
            return len(self.sampler)
        return len(self.batch_sampler)

    def _base_seed(self):
        """A 63-bit seed from a child of the generator's seed sequence: the generator's own stream (the
        shuffle order) does not move, so the orders are the same with any num_workers."""
        g = self._generator if self._generator is not None else as_generator(None, "DataLoader")
        try:
            child = g.spawn(1)[0]
        except (AttributeError, TypeError, ValueError):  # a generator without a seed sequence
            child = g
        return int(child.integers(0, 2 ** 63 - 1, dtype=np.int64))

    def __iter__(self):
        if self.num_workers == 0:
            return self._single_process()
        if self.persistent_workers:
            if self._iterator is None or self._iterator._shut:
                self._iterator = _WorkerIter(self)
            else:
                self._iterator._reset()
            return self._iterator
        return _WorkerIter(self)

    def _single_process(self):
        collate = self.collate_fn or default_collate
        if self._iterable:
            it = iter(self.dataset)
            while True:
                try:
                    batch = iterable_batch(it, self.batch_size, self.drop_last, collate, self.transform)
                except StopIteration:
                    return
                yield _to_tensor(batch)
        if self.batch_sampler is None:
            for i in self.sampler:
                yield _to_tensor(fetch_one(self.dataset, i, self.collate_fn, self.transform))
            return
        fast = self.collate_fn is None and hasattr(self.dataset, "batch")
        for idx in _index_batches(self.batch_sampler):
            yield _to_tensor(fetch(self.dataset, idx, collate, self.transform, fast))


def _shutdown_workers(state):
    """Stops the workers of one iterator (also run by its finalizer, so it must not refer to the iterator)."""
    if state["shut"]:
        return
    state["shut"] = True
    state["done"].set()
    for q in state["index_queues"]:
        try:
            q.put(None)
        except Exception:
            pass
    # an idle worker exits at once on None; one still busy in the dataset (a timeout, an error elsewhere)
    # is terminated after a second: its batch is not wanted any more
    deadline = time.monotonic() + 1.0
    for w in state["workers"]:
        w.join(timeout=max(0.0, deadline - time.monotonic()))
    for w in state["workers"]:
        if w.is_alive():
            w.terminate()
            w.join(timeout=5.0)
    for q in state["index_queues"] + [state["result_queue"]]:
        q.cancel_join_thread()
        q.close()


class _WorkerIter:
    """One pass (or, with persistent_workers, every pass) of a DataLoader over its worker processes."""

    def __init__(self, loader):
        self._loader = loader
        ctx = loader.multiprocessing_context
        if ctx is None:
            ctx = _mp.get_context("fork" if "fork" in _mp.get_all_start_methods() else None)
        elif isinstance(ctx, str):
            ctx = _mp.get_context(ctx)
        n = loader.num_workers
        self._n = n
        self._timeout = loader.timeout
        self._prefetch = max(1, loader.prefetch_factor * n)
        self._iterable = loader._iterable
        single = not loader._iterable and loader.batch_sampler is None  # batch_size=None
        collate = loader.collate_fn if single else (loader.collate_fn or default_collate)
        fast = not single and loader.collate_fn is None and hasattr(loader.dataset, "batch")
        base_seed = loader._base_seed()
        self._result_queue = ctx.Queue()
        self._done = ctx.Event()
        self._index_queues, self._workers = [], []
        import os
        for wid in range(n):
            iq = ctx.Queue()
            iq.cancel_join_thread()
            w = ctx.Process(target=worker_loop, daemon=True,
                            args=(loader.dataset, iq, self._result_queue, self._done, collate, loader.transform,
                                  fast, self._iterable, loader.batch_size, loader.drop_last, base_seed + wid,
                                  loader.worker_init_fn, wid, n, os.getpid(), single))
            w.start()
            self._index_queues.append(iq)
            self._workers.append(w)
        self._state = {"shut": False, "done": self._done, "index_queues": self._index_queues,
                       "workers": self._workers, "result_queue": self._result_queue}
        self._finalizer = weakref.finalize(self, _shutdown_workers, self._state)
        self._send_idx = self._rcvd_idx = 0
        self._reset(first=True)

    @property
    def _shut(self):
        return self._state["shut"]

    @property
    def worker_pids(self):
        return [w.pid for w in self._workers]

    def _reset(self, first=False):
        while self._rcvd_idx < self._send_idx:  # an abandoned epoch of persistent workers: drop its batches
            if self._rcvd_idx in self._reorder:
                self._reorder.pop(self._rcvd_idx)
                self._rcvd_idx += 1
                continue
            idx, _ = self._get()
            self._reorder[idx] = None
        self._reorder = {}
        loader = self._loader
        if self._iterable:
            self._batches = None
        elif loader.batch_sampler is None:  # batch_size=None: single indices, fetched one by one (fetch_one)
            self._batches = iter(loader.sampler)
        else:
            self._batches = _index_batches(loader.batch_sampler)
        self._active = [True] * self._n
        self._cycle = itertools.cycle(range(self._n))
        if not first:
            for q in self._index_queues:
                q.put(Reset())
        for _ in range(self._prefetch):
            self._put_index()

    def _put_index(self):
        if self._batches is not None:
            indices = next(self._batches, None)
            if indices is None:
                return
        else:
            indices = None
        for _ in range(self._n):
            w = next(self._cycle)
            if self._active[w]:
                break
        else:
            return
        self._index_queues[w].put((self._send_idx, indices))
        self._send_idx += 1

    def _get(self):
        try:
            if self._timeout > 0:
                try:
                    return self._result_queue.get(timeout=self._timeout)
                except queue.Empty:
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds") from None
            while True:
                try:
                    return self._result_queue.get(timeout=5.0)
                except queue.Empty:
                    dead = [w.pid for w in self._workers if not w.is_alive()]
                    if dead:
                        raise RuntimeError(f"DataLoader worker (pid(s) {', '.join(map(str, dead))}) exited "
                                           "unexpectedly") from None
        except BaseException:  # KeyboardInterrupt included: no worker outlives the error
            self._shutdown()
            raise

    def __iter__(self):
        return self

    def __next__(self):
        while True:
            if self._rcvd_idx >= self._send_idx:
                if not self._loader.persistent_workers:
                    self._shutdown()
                raise StopIteration
            if self._rcvd_idx in self._reorder:
                data = self._reorder.pop(self._rcvd_idx)
            else:
                idx, data = self._get()
                if idx != self._rcvd_idx:
                    self._reorder[idx] = data
                    continue
            self._rcvd_idx += 1
            if isinstance(data, IterableStop):
                self._active[data.worker_id] = False
                self._put_index()
                continue
            if isinstance(data, ExceptionWrapper):
                self._shutdown()
                data.reraise()
            self._put_index()
            return _to_tensor(data)

    def __len__(self):
        return len(self._loader)

    def _shutdown(self):
        _shutdown_workers(self._state)

    def __del__(self):
        try:
            self._shutdown()
        except Exception:
            pass
