"""DataLoader worker processes (torch.utils.data's worker loop): each worker reads batches of its copy of
the dataset and sends them back; get_worker_info() tells the code it runs (a dataset's __getitem__ or
__iter__, worker_init_fn) which worker it is in."""
import os
import queue
import random as _pyrandom
import sys
import traceback

from .. import random as _random

_worker_info = None


class WorkerInfo:
    """id, num_workers, seed (base_seed + id, what firstepoch.manual_seed and random.seed were given) and
    dataset (this worker's copy), as torch."""

    __slots__ = ("id", "num_workers", "seed", "dataset")

    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return (f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, "
                f"dataset={self.dataset!r})")


def get_worker_info():
    """In a DataLoader worker: its WorkerInfo; in the main process: None (as torch)."""
    return _worker_info


class ExceptionWrapper:
    """An exception raised in a worker, carried to the parent as its type and traceback text."""

    def __init__(self, exc_info, where):
        self.exc_type = exc_info[0]
        self.msg = f"Caught {self.exc_type.__name__} {where}.\nOriginal {''.join(traceback.format_exception(*exc_info))}"
        self.where = where

    def reraise(self):
        msg = self.msg
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:  # a type whose constructor takes other arguments
            raise RuntimeError(msg) from None
        raise exc


class KeyErrorMessage(str):
    """A KeyError's message printed as it is (KeyError would show its repr)."""

    def __repr__(self):
        return self


class IterableStop:
    """A worker's answer once its copy of an IterableDataset is exhausted."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


class Reset:
    """Sent to persistent workers at a new epoch: restart the iterable dataset's iterator."""


def fetch(dataset, indices, collate_fn, transform, fast):
    """One batch of a map-style dataset, collated and transformed (arrays, not Tensors yet)."""
    import numpy as np
    if fast:
        batch = dataset.batch(np.asarray(indices, dtype=np.int64))
    else:
        batch = collate_fn([dataset[int(i)] for i in indices])
    return apply_transform(batch, transform)


def fetch_one(dataset, index, collate_fn, transform):
    """One sample, for DataLoader(batch_size=None): dataset[index], through collate_fn if one was given
    (torch's rule without automatic batching), then the transform."""
    sample = dataset[index]
    if collate_fn is not None:
        sample = collate_fn(sample)
    return apply_transform(sample, transform)


def apply_transform(batch, transform):
    if transform is None:
        return batch
    if isinstance(batch, tuple):
        return (transform(batch[0]),) + batch[1:]
    return transform(batch)


def iterable_batch(it, batch_size, drop_last, collate_fn, transform):
    """The next batch of an IterableDataset's iterator; StopIteration when none is left."""
    if batch_size is None:
        return apply_transform(next(it), transform)
    samples = []
    for s in it:
        samples.append(s)
        if len(samples) == batch_size:
            break
    if not samples or (drop_last and len(samples) < batch_size):
        raise StopIteration
    return apply_transform(collate_fn(samples), transform)


def worker_loop(dataset, index_queue, result_queue, done_event, collate_fn, transform, fast, iterable,
                batch_size, drop_last, seed, init_fn, worker_id, num_workers, parent_pid, single=False):
    """The body of worker `worker_id`: seeds as torch (firstepoch.manual_seed and random.seed with
    base_seed + worker_id), calls init_fn(worker_id), then answers (task, indices) with (task, batch) until
    it gets None, the parent dies or SIGINT arrives."""
    global _worker_info
    try:
        _random.manual_seed(seed)
        _pyrandom.seed(seed)
        _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
        init_error = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            it = iter(dataset) if iterable else None
        except Exception:
            init_error = ExceptionWrapper(sys.exc_info(), f"in DataLoader worker process {worker_id}")
        exhausted = False
        while True:
            try:
                task = index_queue.get(timeout=1.0)
            except queue.Empty:
                if os.getppid() != parent_pid or done_event.is_set():
                    return  # the parent is gone (orphaned) or shutting down
                continue
            if task is None:
                return
            if isinstance(task, Reset):
                exhausted = False
                if iterable and init_error is None:
                    it = iter(dataset)
                continue
            if done_event.is_set():
                continue
            idx, indices = task
            if init_error is not None:
                result_queue.put((idx, init_error))
                init_error = None  # report it once; the parent raises and shuts down
                continue
            try:
                if iterable:
                    if exhausted:
                        raise StopIteration
                    batch = iterable_batch(it, batch_size, drop_last, collate_fn, transform)
                elif single:  # batch_size=None: one sample per task
                    batch = fetch_one(dataset, indices, collate_fn, transform)
                else:
                    batch = fetch(dataset, indices, collate_fn, transform, fast)
            except StopIteration:
                exhausted = True
                batch = IterableStop(worker_id)
            except Exception:
                batch = ExceptionWrapper(sys.exc_info(), f"in DataLoader worker process {worker_id}")
            result_queue.put((idx, batch))
            del batch
    except KeyboardInterrupt:
        pass  # the parent handles Ctrl-C and shuts the workers down
    finally:
        if done_event.is_set():
            result_queue.cancel_join_thread()
