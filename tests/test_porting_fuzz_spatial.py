"""Spatial ops (adaptive pools, max_unpool2d, pad, scaled_dot_product_attention, normalize, pdist, rms_norm)
where a differential fuzz against torch 2.13 found them apart: empty sizes that crashed with a NumPy error
or made up values, and argument checks with another outcome or error class. Expected results are written
out (so these run without torch); the torch comparisons skip where it is absent."""
import math

import numpy as np
import pytest

import firstepoch as fe
import firstepoch.nn.functional as F


def _x(*shape):
    return fe.tensor(np.random.default_rng(0).standard_normal(shape))


# -- an output size of 0 is an empty result, indices int64 (torch), not a NumPy reshape error ------------------

@pytest.mark.parametrize("size", [0, (0, 3), (2, 0), (0, 0)])
def test_adaptive_pool2d_zero_output_size(size):
    x = _x(2, 3, 4, 5)
    want = (2, 3) + ((size, size) if isinstance(size, int) else size)
    y, i = F.adaptive_max_pool2d(x, size, return_indices=True)
    assert y.shape == want and i.shape == want and i.dtype == fe.int64
    assert F.adaptive_max_pool2d(x, size).shape == want
    assert F.adaptive_avg_pool2d(x, size).shape == want
    assert F.adaptive_max_pool2d(_x(3, 4, 5), size).shape == want[1:]  # unbatched


def test_adaptive_pool1d_zero_output_size():
    x = _x(3, 4)
    y, i = F.adaptive_max_pool1d(x, 0, return_indices=True)
    assert y.shape == (3, 0) and i.shape == (3, 0) and i.dtype == fe.int64
    assert F.adaptive_max_pool1d(_x(2, 3, 4), 0).shape == (2, 3, 0)
    assert F.adaptive_avg_pool1d(_x(2, 3, 4), 0).shape == (2, 3, 0)


# -- max_unpool2d of an empty batch -------------------------------------------------------------------------------

def test_max_unpool2d_empty_batch():
    y, i = F.max_pool2d(fe.zeros(0, 1, 4, 4), 2, return_indices=True)
    out = F.max_unpool2d(y, i, 2)
    assert out.shape == (0, 1, 4, 4)


# -- adaptive pools: torch refuses empty non-batch dims (avg: the spatial ones; max: channels of a 4-D input too)

@pytest.mark.parametrize("shape", [(1, 1, 0, 5), (1, 1, 4, 0), (3, 0, 5), (0, 1, 0, 5)])
@pytest.mark.parametrize("size", [2, 0])
def test_adaptive_pool2d_empty_spatial_raises(shape, size):
    with pytest.raises(RuntimeError, match="Expected input to have non-zero size for non-batch dimensions"):
        F.adaptive_avg_pool2d(fe.zeros(*shape), size)
    with pytest.raises(RuntimeError, match="Expected input to have non-zero size for non-batch dimensions"):
        F.adaptive_max_pool2d(fe.zeros(*shape), size)


def test_adaptive_avg_pool_global_of_empty_plane_is_nan():
    # torch takes its mean shortcut for output (1, 1) before the emptiness check: NaN, no error
    y = F.adaptive_avg_pool2d(fe.zeros(2, 3, 0, 3), 1)
    assert y.shape == (2, 3, 1, 1) and np.isnan(y.numpy()).all()
    assert F.adaptive_avg_pool1d(fe.zeros(2, 0), 1).shape == (2, 1)
    with pytest.raises(RuntimeError, match="non-zero size"):  # max has no such shortcut
        F.adaptive_max_pool2d(fe.zeros(2, 3, 0, 3), 1)


def test_adaptive_pool_empty_channels():
    # avg keeps an empty channel dim, max of a 4-D (3-D for 1-D) input refuses it; batch dims may be empty
    assert F.adaptive_avg_pool2d(fe.zeros(2, 0, 4, 5), 2).shape == (2, 0, 2, 2)
    assert F.adaptive_avg_pool1d(fe.zeros(2, 0, 4), 2).shape == (2, 0, 2)
    for call in (lambda: F.adaptive_max_pool2d(fe.zeros(2, 0, 4, 5), 2),
                 lambda: F.adaptive_max_pool1d(fe.zeros(2, 0, 4), 2),
                 lambda: F.adaptive_max_pool1d(fe.zeros(2, 3, 0), 2),
                 lambda: F.adaptive_max_pool1d(fe.zeros(3, 0), 2),
                 lambda: F.adaptive_avg_pool1d(fe.zeros(3, 0), 2)):
        with pytest.raises(RuntimeError, match="non-zero size for non-batch dimensions"):
            call()
    assert F.adaptive_max_pool2d(fe.zeros(0, 4, 5), 2).shape == (0, 2, 2)  # unbatched: C may be empty
    assert F.adaptive_max_pool2d(fe.zeros(0, 3, 4, 5), 2).shape == (0, 3, 2, 2)
    assert F.adaptive_max_pool1d(fe.zeros(0, 4), 2).shape == (0, 2)


# -- adaptive pool arguments: torch's classes ---------------------------------------------------------------------

def test_adaptive_pool_output_size_errors():
    x, x1 = _x(2, 3, 4, 5), _x(2, 3, 5)
    for size in ((1,), (2, 2, 2)):
        with pytest.raises(RuntimeError, match="output_size must be 2"):
            F.adaptive_avg_pool2d(x, size)
        with pytest.raises(RuntimeError, match="output_size"):
            F.adaptive_max_pool2d(x, size)
    for size in (-1, (2, -1), (-1, None)):
        with pytest.raises(RuntimeError):
            F.adaptive_avg_pool2d(x, size)
        with pytest.raises(RuntimeError):
            F.adaptive_max_pool2d(x, size)
    with pytest.raises(TypeError, match="tuple of ints"):
        F.adaptive_avg_pool2d(x, (2.0, 2))
    for f in (F.adaptive_avg_pool1d, F.adaptive_max_pool1d, F.adaptive_max_pool1d_with_indices):
        for size in (None, (None,), 2.0):
            with pytest.raises(TypeError, match="must be tuple of ints"):
                f(x1, size)
        with pytest.raises(RuntimeError, match="should contain one int"):
            f(x1, (2, 2))
        with pytest.raises(RuntimeError):
            f(x1, -1)
    assert F.adaptive_avg_pool2d(x, (None, 2)).shape == (2, 3, 4, 2)  # None keeps the input's size (2-D only)


def test_adaptive_pool_errors_against_torch():
    torch = pytest.importorskip("torch")
    T = torch.nn.functional
    cases = [(T.adaptive_max_pool2d, F.adaptive_max_pool2d, (2, 0, 4, 5), 2),
             (T.adaptive_avg_pool2d, F.adaptive_avg_pool2d, (1, 1, 0, 5), 2),
             (T.adaptive_avg_pool2d, F.adaptive_avg_pool2d, (2, 3, 4, 5), (1,)),
             (T.adaptive_avg_pool1d, F.adaptive_avg_pool1d, (2, 3, 4), None),
             (T.adaptive_max_pool1d, F.adaptive_max_pool1d, (2, 3, 4), -1),
             (T.adaptive_avg_pool2d, F.adaptive_avg_pool2d, (2, 0, 4, 5), 2),
             (T.adaptive_max_pool2d, F.adaptive_max_pool2d, (2, 3, 4, 5), 0)]
    for tf, ff, shape, size in cases:
        try:
            want = tf(torch.zeros(shape), size).shape
        except Exception as e:  # noqa: BLE001 (the class is what is compared)
            with pytest.raises(type(e)):
                ff(fe.zeros(*shape), size)
        else:
            assert ff(fe.zeros(*shape), size).shape == tuple(want)


# -- max_unpool2d's index checks raise RuntimeError (torch) --------------------------------------------------------

def test_max_unpool2d_index_errors():
    y, i = F.max_pool2d(_x(2, 3, 4, 4), 2, return_indices=True)
    with pytest.raises(RuntimeError, match="should be type int64"):
        F.max_unpool2d(y, fe.tensor(i.numpy().astype(np.int32)), 2)
    with pytest.raises(RuntimeError, match="Expected shape of indices to be same as that of the input"):
        F.max_unpool2d(y, i[:1], 2)


# -- scaled_dot_product_attention -----------------------------------------------------------------------------------

def test_sdpa_float32_mask_with_float64_query():
    rng = np.random.default_rng(0)
    q, k, v = (fe.tensor(rng.standard_normal((2, 3, 4, 8))) for _ in range(3))
    m = rng.standard_normal((4, 4)).astype(np.float32)
    got = F.scaled_dot_product_attention(q, k, v, attn_mask=fe.tensor(m))
    want = F.scaled_dot_product_attention(q, k, v, attn_mask=fe.tensor(m.astype(np.float64)))
    assert got.dtype == fe.float64
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(RuntimeError, match="attn_mask dtype"):  # float64 mask on a float32 query: refused
        F.scaled_dot_product_attention(*(fe.tensor(t.numpy().astype(np.float32)) for t in (q, k, v)),
                                       attn_mask=fe.tensor(m.astype(np.float64)))


def test_sdpa_mask_with_causal_applies_both_off_torch_flash_path():
    # torch 2.13 on the CPU takes attn_mask with is_causal only on its flash kernel (4-D, one head size, ...)
    # and refuses them elsewhere; firstepoch applies both there too (a documented difference), refusing
    # only with dropout, as torch
    rng = np.random.default_rng(0)
    r = lambda *s: fe.tensor(rng.standard_normal(s))  # noqa: E731
    q, m = r(2, 3, 4, 8), r(4, 4)
    keep = np.tril(np.ones((4, 4), bool))
    folded = fe.tensor(np.where(keep, m.numpy(), -np.inf))
    for args in ((q[0], q[0], q[0]), (q, q, r(2, 3, 4, 5)), (q, r(1, 3, 4, 8), r(1, 3, 4, 8))):
        both = F.scaled_dot_product_attention(*args, attn_mask=m, is_causal=True)
        np.testing.assert_allclose(both.numpy(), F.scaled_dot_product_attention(*args, attn_mask=folded).numpy(),
                                   rtol=1e-12)
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=m, is_causal=True, dropout_p=0.5)


def test_sdpa_mask_dtype_and_causal_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((2, 3, 4, 8)) for _ in range(3))
    m = rng.standard_normal((4, 4)).astype(np.float32)
    want = torch.nn.functional.scaled_dot_product_attention(*map(torch.tensor, (q, k, v)), attn_mask=torch.tensor(m))
    got = F.scaled_dot_product_attention(*map(fe.tensor, (q, k, v)), attn_mask=fe.tensor(m))
    assert want.dtype == torch.float64 and got.dtype == fe.float64
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(RuntimeError):  # the documented difference: torch's math path refuses the pair
        torch.nn.functional.scaled_dot_product_attention(*map(torch.tensor, (q[0], k[0], v[0])),
                                                         attn_mask=torch.tensor(m), is_causal=True)
    want = torch.nn.functional.scaled_dot_product_attention(*map(torch.tensor, (q, k, v)), attn_mask=torch.tensor(m),
                                                            is_causal=True)  # its flash path applies both
    got = F.scaled_dot_product_attention(*map(fe.tensor, (q, k, v)), attn_mask=fe.tensor(m), is_causal=True)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


# -- pad: reflect/replicate refuse only when every padded dimension is below 1 ---------------------------------------

def test_pad_one_dimension_cropped_to_empty():
    x = fe.tensor(np.arange(15.).reshape(1, 3, 5))
    assert F.pad(x, (0, 0, -1, -2), mode="replicate").shape == (1, 0, 5)
    assert F.pad(x, (1, 1, -1, -2), mode="reflect").shape == (1, 0, 7)
    assert F.pad(x, (-3, -2, 0, 0), mode="replicate").shape == (1, 3, 0)
    x4 = fe.tensor(np.arange(60.).reshape(1, 3, 4, 5))
    assert F.pad(x4, (0, 0, 0, 0, -2, -1), mode="reflect").shape == (1, 0, 4, 5)
    assert F.pad(x4, (-2, -3, 0, 0, -2, -1), mode="replicate").shape == (1, 0, 4, 0)
    for pad, mode in (((-5, 0, -1, -2), "replicate"), ((0, -5), "replicate"), ((-5, 0), "reflect")):
        with pytest.raises(RuntimeError, match="too small"):
            F.pad(x, pad, mode=mode)
    with pytest.raises(RuntimeError, match="negative dimension"):  # one below 0, another kept: torch's allocation
        F.pad(x, (-3, -3, 0, 0), mode="replicate")


def test_pad_cropped_to_empty_against_torch():
    torch = pytest.importorskip("torch")
    x = np.arange(15.).reshape(1, 3, 5)
    for mode, pad in (("replicate", (0, 0, -1, -2)), ("reflect", (1, 1, -1, -2)), ("reflect", (-3, -2, 1, 1))):
        want = torch.nn.functional.pad(torch.tensor(x), pad, mode=mode)
        assert F.pad(fe.tensor(x), pad, mode=mode).shape == tuple(want.shape)


# -- normalize and pdist over an empty dimension ------------------------------------------------------------------

@pytest.mark.parametrize("p", [math.inf, -math.inf, -1, -0.5])
def test_normalize_empty_dim_without_identity_raises(p):
    with pytest.raises(RuntimeError, match="cannot compute the .* norm on the dimension 1"):
        F.normalize(fe.zeros(3, 0), p=p)
    assert F.normalize(fe.zeros(0, 3), p=p).shape == (0, 3)  # dim 1 not empty: fine


@pytest.mark.parametrize("p", [0, 1, 2, 0.5])
def test_normalize_empty_dim_with_identity(p):
    assert F.normalize(fe.zeros(3, 0), p=p).shape == (3, 0)


@pytest.mark.parametrize("p", [math.inf, 0, 1, 2, 0.5])
def test_pdist_zero_columns(p):
    d = F.pdist(fe.zeros(3, 0), p)
    assert d.shape == (3,) and d.dtype == fe.float32
    np.testing.assert_array_equal(d.numpy(), np.zeros(3, np.float32))
    assert F.pdist(fe.zeros(1, 0), p).shape == (0,)


# -- rms_norm's normalized_shape is a tuple (torch: an int is a TypeError) ------------------------------------------

def test_rms_norm_int_shape_is_type_error():
    x = _x(2, 3, 5)
    with pytest.raises(TypeError, match="must be tuple of ints, not int"):
        F.rms_norm(x, 5)
    assert F.rms_norm(x, [5]).shape == (2, 3, 5)
    assert fe.nn.RMSNorm(5)(x).shape == (2, 3, 5)  # the module takes an int, as torch's


# -- dropout1d checks p before the input's rank (torch) --------------------------------------------------------

def test_dropout1d_checks_p_first():
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout1d(fe.zeros(1, 2, 3, 4), p=1.5)
    with pytest.raises(RuntimeError, match="Expected 2D or 3D input"):
        F.dropout1d(fe.zeros(1, 2, 3, 4), p=0.5)


def test_rrelu_refuses_a_lower_bound_above_the_upper_in_both_modes():
    """torch raises RuntimeError for lower > upper in training and in evaluation; evaluation had used the mean
    slope (lower + upper) / 2 and training NumPy's ValueError."""
    x = fe.tensor(np.array([-1.0, 0.5]))
    for training in (False, True):
        with pytest.raises(RuntimeError, match="Lower bound should be less than or equal to the upper bound"):
            F.rrelu(x, 0.5, 0.1, training=training)
    np.testing.assert_allclose(F.rrelu(x, 0.3, 0.3).numpy(), [-0.3, 0.5])


def test_linear_with_a_one_axis_weight_takes_no_bias():
    """torch 2.13: F.linear with a 1-D weight is input @ weight, and any bias with it raises RuntimeError
    ("mat2 must be a matrix, got 1-D tensor"); a 0-d or (1,) bias had been added here."""
    x, w = fe.tensor(np.ones((3, 5))), fe.tensor(np.arange(5.0))
    np.testing.assert_array_equal(F.linear(x, w).numpy(), np.full(3, 10.0))
    for b in (fe.tensor(0.5), fe.tensor(np.ones(1))):
        with pytest.raises(RuntimeError, match="mat2 must be a matrix, got 1-D tensor"):
            F.linear(x, w, b)


def test_embedding_weight_and_conv_bias_shapes_raise_runtime_error_as_torch():
    with pytest.raises(RuntimeError, match="'weight' must be 2-D"):
        F.embedding(fe.tensor(np.array([0, 1])), fe.tensor(np.ones(5)))
    for conv, x, w in ((F.conv1d, np.ones((2, 4, 5)), np.ones((6, 4, 3))),
                       (F.conv2d, np.ones((2, 4, 5, 5)), np.ones((6, 4, 3, 3)))):
        with pytest.raises(RuntimeError, match=r"Given weight of size \[6, 4, 3.*expected bias to be 1-dimensional "
                                               r"with 6 elements, but got bias of size \[5\] instead"):
            conv(fe.tensor(x), fe.tensor(w), fe.tensor(np.ones(5)))


def test_activations_refuse_bool_and_integer_inputs_where_torch_does():
    """torch 2.13: relu/relu6/hardtanh refuse bool, hardtanh refuses an unsigned input with negative limits,
    softsign refuses bool and glu any non-float input; these had computed a result (hardtanh of uint8 [1, 2]
    with the default limits gave [1, 1]). threshold keeps an integer input's dtype, its value cast to it."""
    b = fe.tensor(np.array([True, False]))
    with pytest.raises(RuntimeError, match="Boolean inputs not supported for relu"):
        F.relu(b)
    for fn in (F.relu6, F.hardtanh):
        with pytest.raises(RuntimeError, match="Bool inputs not supported for hardtanh"):
            fn(b)
    u = fe.tensor(np.array([1, 2], np.uint8))
    with pytest.raises(RuntimeError, match="cannot do hardtanh on an unsigned type with negative limits"):
        F.hardtanh(u)
    assert F.hardtanh(u, 0, 5).tolist() == [1, 2] and F.relu6(u).tolist() == [1, 2]
    with pytest.raises(NotImplementedError, match="not implemented for 'Bool'"):
        F.softsign(b)
    for x in (np.array([1, 2, 3, 4]), np.array([True, False])):
        with pytest.raises(NotImplementedError, match='"glu_cpu" not implemented'):
            F.glu(fe.tensor(x))
    i = fe.tensor(np.array([-2, 0, 1, 3]))
    out = F.threshold(i, 0.5, 2.7)
    assert out.dtype == np.int64 and out.tolist() == [2, 2, 1, 3]
    assert F.relu(i).tolist() == [0, 0, 1, 3] and F.hardtanh(i).tolist() == [-1, 0, 1, 1]


def test_batch_norm_refuses_running_statistics_of_another_dtype():
    """torch 2.13 raises RuntimeError ("mixed dtype (CPU)") when the running statistics' dtype is not the
    input's, with or without weight, training or not; a float64 batch had updated float32 running statistics
    (nn.BatchNorm1d(affine=False) and F.batch_norm)."""
    x64 = fe.tensor(np.random.default_rng(0).standard_normal((4, 3)))
    with pytest.raises(RuntimeError, match="mixed dtype"):
        fe.nn.BatchNorm1d(3, affine=False)(x64)
    m = fe.nn.BatchNorm1d(3, affine=False).eval()
    with pytest.raises(RuntimeError, match="mixed dtype"):
        m(x64)
    rm, rv = fe.zeros(3), fe.ones(3)
    for training in (True, False):
        with pytest.raises(RuntimeError, match="mixed dtype"):
            F.batch_norm(x64, rm, rv, training=training)
    with pytest.raises(RuntimeError, match="expect parameter to have scalar type of Float"):
        F.batch_norm(x64.float(), rm.double(), rv.double(), training=True)
    assert rm.tolist() == [0, 0, 0] and rv.tolist() == [1, 1, 1]  # nothing updated
    assert F.batch_norm(x64, None, None, training=True).dtype == np.float64
    assert fe.nn.BatchNorm1d(3, affine=False).double()(x64).dtype == np.float64


def test_unflatten_module_infers_minus_one_on_an_empty_tensor():
    """nn.Unflatten(1, (-1, 2)) on a (0, 4) tensor: torch gives (0, 2, 2) (the -1 from the dim's own size);
    a reshape of the whole tensor cannot infer it from 0 elements."""
    assert fe.nn.Unflatten(1, (-1, 2))(fe.zeros(0, 4)).shape == (0, 2, 2)
    assert fe.nn.Unflatten(0, (2, -1))(fe.zeros(4, 0)).shape == (2, 2, 0)


def test_batch_norm_module_refusing_a_dtype_changes_no_state():
    m = fe.nn.BatchNorm2d(3, affine=False)
    with pytest.raises(RuntimeError, match="mixed dtype"):
        m(fe.tensor(np.ones((2, 3, 2, 2))))
    assert int(m.num_batches_tracked.item()) == 0
    assert m.running_mean.tolist() == [0, 0, 0] and m.running_var.tolist() == [1, 1, 1]


def test_rnn_flatten_parameters_is_torchs_cpu_no_op():
    """torch's RNNBase.flatten_parameters() packs weights for cuDNN and does nothing on the CPU; ported code calls
    it before each forward (it had been an AttributeError here)."""
    lstm = fe.nn.LSTM(3, 4)
    before = {k: np.array(v, copy=True) for k, v in lstm.state_dict().items()}
    assert lstm.flatten_parameters() is None
    for k, v in lstm.state_dict().items():
        np.testing.assert_array_equal(np.asarray(v), before[k])
    assert fe.nn.GRU(2, 2).flatten_parameters() is None and fe.nn.RNN(2, 2).flatten_parameters() is None


def test_batch_norm_without_running_statistics_checks_only_what_it_has():
    """track_running_stats=False has no running_mean: the dtype check must not look for one (an
    AttributeError had followed the check's first version)."""
    for kwargs in (dict(affine=False, track_running_stats=False), dict(track_running_stats=False)):
        m = fe.nn.BatchNorm2d(3, **kwargs)
        assert m(fe.tensor(np.ones((2, 3, 2, 2), np.float32))).shape == (2, 3, 2, 2)
    m = fe.nn.BatchNorm2d(3, affine=False, track_running_stats=False)
    assert m(fe.tensor(np.ones((2, 3, 2, 2)))).dtype == np.float64  # nothing of another dtype to refuse
