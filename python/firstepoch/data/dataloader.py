"""DataLoader: batches of a dataset as firstepoch Tensors. A dataset with a `batch(indices)` method
(TensorDataset, and a Subset of one) is batched with one fancy-indexing call per array; any other
dataset is read sample by sample and collated."""
import numpy as np

from ..tensor import Tensor
from .collate import default_collate
from .sampler import BatchSampler, RandomSampler, SequentialSampler


# Array dtypes a Tensor keeps as they are (tensor.py's _as_data): such a batch array is wrapped, not converted.
_KEPT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.bool_))


def _to_tensor(batch):
    if type(batch) is np.ndarray and batch.dtype in _KEPT_DTYPES:
        return Tensor._wrap(batch, False)  # what Tensor(batch) makes, without its conversion checks
    if isinstance(batch, tuple):
        return tuple(_to_tensor(b) for b in batch)
    if isinstance(batch, dict):
        return {k: _to_tensor(v) for k, v in batch.items()}
    if isinstance(batch, Tensor):
        return batch
    return Tensor(batch)  # integer arrays become int64 (labels), float32/float64 stay as they are


class DataLoader:
    """Iterates over `dataset` in batches of Tensors (PyTorch's arguments).

    batch_size: samples per batch; drop_last drops a short last batch (else it is yielded as it is).
    shuffle: a new order every epoch, drawn from `generator` (an int seed or a numpy.random.Generator,
        kept across epochs, so two loaders given the same seed give the same epochs); None draws from
        firstepoch.manual_seed's generator at the start of each epoch.
    sampler / batch_sampler: an explicit order (then leave shuffle off), or explicit index batches (then
        leave batch_size at 1, and shuffle, sampler and drop_last unset).
    collate_fn: turns a list of samples into arrays; giving one turns off the fast path.
    transform: applied to each batch's first array (the inputs) before it becomes a Tensor, e.g. an
        augmentation from firstepoch.data.transforms.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None, collate_fn=None,
                 drop_last=False, generator=None, transform=None):
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler is exclusive with batch_size, shuffle, sampler "
                                 "and drop_last")
        else:
            if sampler is not None and shuffle:
                raise ValueError("DataLoader: give either sampler or shuffle=True, not both")
            if sampler is None:
                sampler = (RandomSampler(dataset, generator=generator) if shuffle
                           else SequentialSampler(dataset))
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)  # checks batch_size
        self.dataset = dataset
        self.batch_size = None if sampler is None else batch_sampler.batch_size
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn
        self.transform = transform

    def __len__(self):
        return len(self.batch_sampler)

    def __iter__(self):
        fast = self.collate_fn is None and hasattr(self.dataset, "batch")
        collate = self.collate_fn or default_collate
        for idx in self.batch_sampler:
            if fast:
                batch = self.dataset.batch(np.asarray(idx, dtype=np.int64))
            else:
                batch = collate([self.dataset[int(i)] for i in idx])
            if self.transform is not None:
                if isinstance(batch, tuple):
                    batch = (self.transform(batch[0]),) + batch[1:]
                else:
                    batch = self.transform(batch)
            yield _to_tensor(batch)
