"""Datasets and loaders (PyTorch's shapes): Dataset, TensorDataset, Subset, random_split, samplers and
DataLoader, SeededShuffle (a permutation per epoch from (seed, epoch), the order `firstepoch train` uses),
CurriculumSampler (easy-to-hard pacing), plus seeded image augmentation in `transforms`."""
from . import transforms
from .collate import default_collate
from .dataloader import DataLoader
from .dataset import Dataset, Subset, TensorDataset, random_split
from .sampler import BatchSampler, RandomSampler, Sampler, SeededShuffle, SequentialSampler
from .curriculum import CurriculumSampler

__all__ = ["transforms", "Dataset", "TensorDataset", "Subset", "DataLoader", "random_split", "default_collate",
           "Sampler", "SequentialSampler", "RandomSampler", "SeededShuffle", "BatchSampler", "CurriculumSampler"]
