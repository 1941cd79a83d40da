"""torch.nn.utils.convert_parameters: parameters_to_vector and vector_to_parameters (nn.utils re-exports
them)."""
from ...tensor import Tensor, cat

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    """The parameters flattened and concatenated into one vector (part of the graph, as torch's cat of
    views)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Writes consecutive slices of vec into the parameters' data (shapes from the parameters), as torch;
    a vec that is no Tensor is a TypeError."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    pointer = 0
    for p in parameters:
        n = p.numel()
        p.data = vec[pointer:pointer + n].view_as(p).data
        pointer += n
