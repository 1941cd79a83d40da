"""Datasets and loaders (PyTorch's shapes), plus seeded image augmentation in `transforms`.

The tree, in read order (each file imports only those above it):
    collate.py     default_collate: a list of samples -> one batch of arrays
    dataset.py     Dataset, TensorDataset, Subset, random_split
    sampler.py     Sampler, SequentialSampler, RandomSampler, SeededShuffle (a permutation per epoch
                   from (seed, epoch): the order `firstepoch train` uses), BatchSampler
    dataloader.py  DataLoader: batches of Tensors, one fancy-indexing call per array when it can
    curriculum.py  CurriculumSampler (easy-to-hard pacing)
    transforms.py  RandomCrop, RandomRotation, Normalize, Compose on NumPy batches
"""
from . import transforms
from .collate import default_collate
from .dataloader import DataLoader
from .dataset import Dataset, Subset, TensorDataset, random_split
from .sampler import BatchSampler, RandomSampler, Sampler, SeededShuffle, SequentialSampler
from .curriculum import CurriculumSampler

__all__ = ["transforms", "Dataset", "TensorDataset", "Subset", "DataLoader", "random_split", "default_collate",
           "Sampler", "SequentialSampler", "RandomSampler", "SeededShuffle", "BatchSampler", "CurriculumSampler"]
