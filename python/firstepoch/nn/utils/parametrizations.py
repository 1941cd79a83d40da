"""torch.nn.utils.parametrizations: weight_norm, spectral_norm and orthogonal as parametrizations
(nn.utils.parametrize): the module keeps parametrizations.<name>.original0/original1 (weight_norm's g and
v) or .original plus the buffers _u, _v (spectral_norm) or base (orthogonal), with torch's state_dict keys.
orthogonal has torch's three maps: "matrix_exp" (linalg.matrix_exp), "cayley" and "householder"."""
import numpy as np

from ...autograd.grad_mode import no_grad
from ...linalg import matrix_exp, solve
from ...random import generator
from ...tensor import Tensor, cat, eye, tensor
from .. import functional as F
from ..module import Module
from . import parametrize
from .spectral_norm import _default_dim
from .weight_norm import _norm_except_dim, _weight_norm

__all__ = ["orthogonal", "weight_norm", "spectral_norm"]


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return _norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Reparametrizes module.<name> as g * v / ||v|| (the norm over every dim but dim; dim=None: of the
    whole tensor): parametrizations.<name>.original0 is g, original1 is v, as torch. Returns module.
    As torch, a state dict from the older nn.utils.weight_norm (<name>_g, <name>_v) loads into it."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def _weight_norm_compat_hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                 error_msgs):
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module._register_load_state_dict_pre_hook(_weight_norm_compat_hook)
    return module


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight)
            h, w = weight_mat.shape
            with no_grad():
                u = weight_mat.new_empty(h).normal_(0, 1)
                v = weight_mat.new_empty(w).normal_(0, 1)
                self.register_buffer("_u", F.normalize(u, dim=0, eps=self.eps))
                self.register_buffer("_v", F.normalize(v, dim=0, eps=self.eps))
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat, n_power_iterations):
        """n steps of power iteration, updating the buffers _u and _v in place (outside autograd)."""
        with no_grad():
            for _ in range(n_power_iterations):
                F.normalize(weight_mat.mv(self._v), dim=0, eps=self.eps, out=self._u)
                F.normalize(weight_mat.t().mv(self._u), dim=0, eps=self.eps, out=self._v)

    def forward(self, weight):
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()  # a later in-place update must not touch this graph
        sigma = u.dot(weight_mat.mv(v))
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Reparametrizes module.<name> as original / sigma, sigma its largest singular value estimated by
    power iteration (15 steps at registration, n_power_iterations at each access in training mode, none in
    eval mode) on the buffers parametrizations.<name>.0._u and ._v; dim (default 0, 1 for a transposed
    convolution) is the output dim. A 1-D tensor is just normalised. Returns module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, _default_dim(module, dim), eps))
    return module


# ---- orthogonal ----------------------------------------------------------------------------------------------

_ORTH_MAPS = ("matrix_exp", "cayley", "householder")


def _householder_product(A, tau):
    """torch.linalg.householder_product(A, tau) for real A (..., n, k) zero on and above its diagonal:
    the first k columns of H_0 H_1 ... H_{k-1}, H_i = I - tau_i v_i v_i^T with v_i = e_i + A[..., :, i].
    A composite of differentiable ops (k rank-one updates), so autograd gives its gradient."""
    n, k = A.shape[-2], A.shape[-1]
    Q = eye(n, k, dtype=A.dtype).expand(*A.shape)
    for i in reversed(range(k)):
        e = np.zeros((n, 1), dtype=A.dtype)
        e[i] = 1
        v = A[..., :, i:i + 1] + tensor(e)  # (..., n, 1)
        Q = Q - (tau[..., i:i + 1].unsqueeze(-1) * v) @ (v.mT @ Q)
    return Q


def _make_orthogonal(A):
    """torch's _make_orthogonal, in NumPy: the Q of A = QR (A tall) with each column signed by diag(R)."""
    q, r = np.linalg.qr(A, mode="reduced")
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def _is_orthogonal(Q):
    n, k = Q.shape[-2], Q.shape[-1]
    eps = 10.0 * n * np.finfo(Q.dtype).eps
    return np.allclose(np.swapaxes(Q, -1, -2) @ Q, np.eye(k, dtype=Q.dtype), atol=eps)


class _Orthogonal(Module):
    """torch's _Orthogonal: forward maps the stored tensor X (..., n, k) to a matrix with orthonormal
    columns (rows when n < k) by the Cayley map of the skew-symmetric tril(X) - tril(X).T or by Householder
    reflectors below X's diagonal; with use_trivialization the result is multiplied by the buffer `base`
    (set by right_inverse), as torch's dynamic trivialization."""

    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            X = X.tril()
            if n != k:  # embed into a square matrix
                X = cat([X, X.new_zeros(n, n - k).expand(*X.shape[:-2], -1, -1)], dim=-1)
            A = X - X.mT  # skew-symmetric
            if self.orthogonal_map == "matrix_exp":
                Q = matrix_exp(A)
            else:
                Id = eye(n, dtype=A.dtype)
                Q = solve(Id - 0.5 * A, Id + 0.5 * A)  # (I + A/2)(I - A/2)^-1, as torch's solve form
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = _householder_product(A, tau)
            # X's diagonal (1's and -1's) signs the columns, truncated to int and not differentiated, as torch
            signs = np.trunc(np.diagonal(X.detach().numpy(), axis1=-2, axis2=-1)).astype(Q.dtype)
            Q = Q * tensor(signs).unsqueeze(-2)
        if hasattr(self, "base"):
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q):
        with no_grad():
            if Q.shape != self.shape:
                raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. Got a tensor of shape "
                                 f"{Q.shape}.")
            q = Q.detach().numpy()
            n, k = q.shape[-2], q.shape[-1]
            transpose = n < k
            if transpose:
                q = np.swapaxes(q, -1, -2)
                n, k = k, n
            if not hasattr(self, "base"):
                if self.orthogonal_map in ("matrix_exp", "cayley"):
                    raise NotImplementedError("It is not possible to assign to the matrix exponential or the Cayley "
                                              "parametrizations when use_trivialization=False.")
                # LAPACK's geqrf (NumPy's raw QR gives its output transposed) with R's diagonal as signs
                h, tau = np.linalg.qr(q, mode="raw")
                A = np.swapaxes(h, -1, -2).copy()
                diag = np.sign(np.diagonal(A, axis1=-2, axis2=-1)) * np.where(tau == 0.0, -1, 1)
                idx = np.arange(k)
                A[..., idx, idx] = diag
                return tensor(np.swapaxes(A, -1, -2) if transpose else A)
            if n == k:
                q = q.copy() if _is_orthogonal(q) else _make_orthogonal(q)
            else:  # complete q to an n x n orthogonal matrix with random columns (firstepoch's generator)
                rest = generator().standard_normal(q.shape[:-2] + (n, n - k)).astype(q.dtype)
                q = _make_orthogonal(np.concatenate([q, rest], axis=-1))
            self.base = tensor(q)
            # -Id: householder(-Id) and cayley(-Id) are both the first k columns of the identity
            neg_id = np.zeros(Q.shape, dtype=q.dtype)
            idx = np.arange(min(Q.shape[-2:]))
            neg_id[..., idx, idx] = -1.0
            return tensor(neg_id)


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """As torch.nn.utils.parametrizations.orthogonal: module.<name> (..., m, n) becomes a matrix with
    orthonormal columns (m >= n) or rows, through orthogonal_map "matrix_exp" (torch's default for square
    matrices), "cayley" or "householder" (the default otherwise) and, with use_trivialization (default), the
    buffer parametrizations.<name>.0.base. Returns module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _ORTH_MAPS:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
