"""Datasets and loaders (PyTorch's shapes), plus seeded image augmentation in `transforms`.

The tree, in read order (each file imports only those above it):
    collate.py     default_collate: a list of samples -> one batch of arrays
    dataset.py     Dataset, TensorDataset, Subset, random_split, IterableDataset, ConcatDataset, StackDataset,
                   ChainDataset
    sampler.py     Sampler, SequentialSampler, RandomSampler, SeededShuffle (a permutation per epoch
                   from (seed, epoch): the order `firstepoch train` uses), BatchSampler,
                   WeightedRandomSampler, SubsetRandomSampler, DistributedSampler (torch's, one rank's share)
    worker.py      the DataLoader's worker processes: worker loop, get_worker_info, WorkerInfo
    dataloader.py  DataLoader: batches of Tensors, one fancy-indexing call per array when it can;
                   num_workers=N reads them in N processes
    curriculum.py  CurriculumSampler (easy-to-hard pacing)
    transforms.py  RandomCrop, RandomRotation, Normalize, Compose on NumPy batches; torchvision's Resize,
                   CenterCrop, RandomResizedCrop, RandomHorizontalFlip, ColorJitter, ToTensor on images
"""
from . import transforms
from .collate import default_collate
from .dataloader import DataLoader
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset, TensorDataset,
                      random_split)
from .sampler import (BatchSampler, DistributedSampler, RandomSampler, Sampler, SeededShuffle, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)
from .worker import WorkerInfo, get_worker_info
from .curriculum import CurriculumSampler

__all__ = ["transforms", "Dataset", "TensorDataset", "Subset", "DataLoader", "random_split", "default_collate",
           "Sampler", "SequentialSampler", "RandomSampler", "SeededShuffle", "BatchSampler", "CurriculumSampler",
           "IterableDataset", "ConcatDataset", "ChainDataset", "WeightedRandomSampler", "SubsetRandomSampler",
           "get_worker_info", "WorkerInfo", "StackDataset", "DistributedSampler"]
