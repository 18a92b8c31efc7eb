"""core_ext recurrent layers (vanilla RNN, LSTM, GRU): the compiled kernels and the NumPy
fallback (the ``kernels`` fixture) against a step-by-step NumPy forward written here and the
reference solutions (solutions/a3_rnn), numerical gradients, each other (parity over both
dtypes), thread-count independence, empty sizes, awkward and bad input; and the gate loops'
tanh and sigmoid against NumPy's. PyTorch's nn.RNN/LSTM/GRU are in test_core_ext_rnn_torch.py."""

from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import numpy as np
import pytest
from scipy.special import expit

import core_ext
from gradients import assert_grad  # tests/gradients.py
from solutions.a3_rnn import rnn_layers
from test_core_ext import DTYPES

# (N, T, D, H): one step and one row alone and together, D < H and D > H, an odd hidden size,
# and a batch large enough that every layer splits it into blocks run on several threads
CASES = [(1, 1, 3, 4), (1, 6, 4, 3), (3, 1, 5, 2), (4, 5, 3, 7), (2, 9, 6, 5), (3, 4, 1, 1),
         (64, 16, 32, 64)]
SMALL = CASES[:6]
LAYERS = ["rnn", "lstm", "gru"]
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
GRAD_NAMES = {"rnn": ("dx", "dh0", "dWx", "dWh", "db"), "lstm": ("dx", "dh0", "dWx", "dWh", "db"),
              "gru": ("dx", "dh0", "dWx", "dWh", "dbx", "dbh")}


def case_id(case):
    return "N{}-T{}-D{}-H{}".format(*case)


def tolerance(dtype) -> dict:
    return {"rtol": 1e-10, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-4, "atol": 2e-5}


def assert_matches(name, ours, theirs, dtype):
    """ours against a reference, within the dtype's tolerance; in float32 the absolute part
    scales with the array's largest entry (a weight gradient sums N*T products, each rounded)."""
    tol = tolerance(dtype)
    if dtype == np.float32:
        tol["atol"] *= max(1.0, float(np.max(np.abs(theirs), initial=0)))
    np.testing.assert_allclose(ours, theirs, **tol, err_msg=name)


def layer(kind):
    return getattr(core_ext, f"{kind}_forward"), getattr(core_ext, f"{kind}_backward")


def inputs(kind, case, dtype=np.float64, seed=0):
    """x, h0, Wx, Wh and the biases, with weights of scale 1/sqrt(D + H) (well inside the
    gates' working range, so that rounding is not amplified along the sequence)."""
    N, T, D, H = case
    G = GATES[kind]
    rng = np.random.default_rng(seed)
    scale = 1 / np.sqrt(D + H)
    arrays = [rng.standard_normal((N, T, D)), rng.standard_normal((N, H)),
              scale * rng.standard_normal((D, G * H)), scale * rng.standard_normal((H, G * H))]
    arrays += [0.5 * rng.standard_normal(G * H) for _ in range(2 if kind == "gru" else 1)]
    return [a.astype(dtype) for a in arrays]


# -- a step-by-step reference forward (the formulas of the issue, one step at a time) ---------
def sigmoid(a):
    return expit(a)


def steps_rnn(x, h0, Wx, Wh, b):
    h, out = h0, []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ Wx + h @ Wh + b)
        out.append(h)
    return out


def steps_lstm(x, h0, Wx, Wh, b):
    H = h0.shape[1]
    h, c, out = h0, np.zeros_like(h0), []
    for t in range(x.shape[1]):
        a = x[:, t] @ Wx + h @ Wh + b
        i, f, o, g = (sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H]),
                      np.tanh(a[:, 3 * H:]))
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(h)
    return out


def steps_gru(x, h0, Wx, Wh, bx, bh):
    H = h0.shape[1]
    h, out = h0, []
    for t in range(x.shape[1]):
        ax, ah = x[:, t] @ Wx + bx, h @ Wh + bh
        r, z = sigmoid(ax[:, :H] + ah[:, :H]), sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
        n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
        h = (1 - z) * n + z * h
        out.append(h)
    return out


def reference_forward(kind, arrays):
    """h (N, T, H) from the steps above, in float64."""
    arrays = [a.astype(np.float64) for a in arrays]
    steps = {"rnn": steps_rnn, "lstm": steps_lstm, "gru": steps_gru}[kind](*arrays)
    N, H = arrays[1].shape
    return np.stack(steps, axis=1) if steps else np.zeros((N, 0, H))


# -- forward ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("kind", LAYERS)
def test_forward_matches_the_step_by_step_reference(kernels, kind, case, dtype):
    arrays = inputs(kind, case, dtype)
    h, _ = layer(kind)[0](*arrays)
    N, T, _, H = case
    assert h.shape == (N, T, H) and h.dtype == dtype and h.flags.c_contiguous
    assert_matches("h", h, reference_forward(kind, arrays), dtype)


def test_lstm_worked_example(kernels):
    """One step, one unit, by hand: a = x Wx + h0 Wh + b = [0, 0, 0, 0] + b; c0 = 0."""
    b = np.array([0.0, 1.0, np.log(3.0), np.arctanh(0.5)])  # sigmoid(log 3) = 0.75
    h, _ = core_ext.lstm_forward(np.zeros((1, 1, 1)), np.zeros((1, 1)), np.ones((1, 4)),
                                 np.ones((1, 4)), b)
    # i = 0.5, g = 0.5: c = 0.25; o = 0.75: h = 0.75 tanh(0.25)
    np.testing.assert_allclose(h, [[[0.75 * np.tanh(0.25)]]], rtol=1e-15)


# -- backward -----------------------------------------------------------------------------------
@pytest.mark.parametrize("case", SMALL, ids=case_id)
@pytest.mark.parametrize("kind", LAYERS)
def test_gradients_are_numerically_right(kernels, kind, case):
    forward, backward = layer(kind)
    arrays = inputs(kind, case)
    h, cache = forward(*arrays)
    dh = np.random.default_rng(1).standard_normal(h.shape)
    grads = backward(dh, cache)
    assert len(grads) == len(arrays)
    for index, (name, grad) in enumerate(zip(GRAD_NAMES[kind], grads, strict=True)):
        def loss(value, index=index):
            return np.sum(forward(*arrays[:index], value, *arrays[index + 1:])[0] * dh)
        assert grad.dtype == np.float64
        assert_grad(name, grad, loss, arrays[index])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("kind", LAYERS)
def test_compiled_kernels_match_the_numpy_fallback(kind, case, dtype):
    """Parity of the two backends, forward and backward (float32 against float64)."""
    forward, backward = layer(kind)
    arrays = inputs(kind, case, dtype)
    dh = np.random.default_rng(1).standard_normal(case[:2] + case[3:]).astype(dtype)
    h, cache = forward(*arrays)
    got = [h, *backward(dh, cache)]
    with mock.patch.multiple(core_ext, _rnn=None, _memory=None):
        wide = [a.astype(np.float64) for a in arrays]
        h64, cache64 = forward(*wide)
        want = [h64, *backward(dh.astype(np.float64), cache64)]
    for name, ours, theirs, like in zip(("h", *GRAD_NAMES[kind]), got, want,
                                        [h, *arrays], strict=True):
        assert ours.shape == like.shape and ours.dtype == dtype, name
        assert_matches(name, ours, theirs, dtype)


@pytest.mark.parametrize("kind", LAYERS)
def test_backward_twice_on_one_cache_gives_the_same_result(kernels, kind):
    forward, backward = layer(kind)
    arrays = inputs(kind, CASES[-1])
    before = [a.copy() for a in arrays]
    h, cache = forward(*arrays)
    h_before = h.copy()
    dh = np.random.default_rng(2).standard_normal(h.shape)
    first = [g.copy() for g in backward(dh, cache)]
    for got, want in zip(backward(dh, cache), first, strict=True):
        np.testing.assert_array_equal(got, want)
    for got, want in zip([*arrays, h], [*before, h_before], strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind", LAYERS)
def test_strided_and_read_only_inputs_give_the_same_results(kernels, kind):
    forward, backward = layer(kind)
    arrays = inputs(kind, (3, 4, 5, 6))
    # each array as a transposed (Fortran-ordered) copy, and read-only
    awkward = [np.asfortranarray(a) for a in arrays]
    for a in awkward:
        a.setflags(write=False)
    h, cache = forward(*arrays)
    h2, cache2 = forward(*awkward)
    np.testing.assert_array_equal(h2, h)
    dh = np.random.default_rng(3).standard_normal(h.shape)
    dh_strided = np.repeat(dh, 2, axis=2)[:, :, ::2]
    for got, want in zip(backward(dh_strided, cache2), backward(dh, cache), strict=True):
        np.testing.assert_array_equal(got, want)


# -- empty sizes --------------------------------------------------------------------------------
@pytest.mark.parametrize("case", [(3, 0, 4, 5), (0, 4, 3, 5), (2, 3, 0, 4), (2, 3, 4, 0)],
                         ids=["T=0", "N=0", "D=0", "H=0"])
@pytest.mark.parametrize("kind", LAYERS)
def test_empty_sizes_give_empty_or_zero_results(kernels, kind, case):
    """T = 0: no step, so h is (N, 0, H) and every gradient is zero (dh0 included: nothing
    depends on h0). N = 0: no sequence. D = 0: h depends on h0 alone. H = 0: nothing to hold."""
    forward, backward = layer(kind)
    arrays = inputs(kind, case)
    N, T, D, H = case
    h, cache = forward(*arrays)
    assert h.shape == (N, T, H)
    np.testing.assert_allclose(h, reference_forward(kind, arrays), rtol=1e-12, atol=1e-14)
    grads = backward(np.ones_like(h), cache)
    for name, grad, like in zip(GRAD_NAMES[kind], grads, arrays, strict=True):
        assert grad.shape == like.shape and grad.dtype == like.dtype, name
    if T == 0:
        for name, grad in zip(GRAD_NAMES[kind], grads, strict=True):
            assert not grad.any(), name


# -- threads ------------------------------------------------------------------------------------

def run_all(case=CASES[-1]) -> list[np.ndarray]:
    """Forward and backward of every layer on fixed inputs."""
    results = []
    for kind in LAYERS:
        forward, backward = layer(kind)
        h, cache = forward(*inputs(kind, case))
        results += [h, *backward(np.random.default_rng(4).standard_normal(h.shape), cache)]
    return results


def test_one_thread_and_several_threads_give_identical_results(kernels, submits, monkeypatch):
    monkeypatch.setenv("LAYERLAB_THREADS", "1")
    single = run_all()
    assert submits == []
    for threads in ("2", "3"):
        monkeypatch.setenv("LAYERLAB_THREADS", threads)
        submits.clear()
        threaded = run_all()
        assert set(submits) == {"forward_rows", "backward_rows"}, threads
        assert len(submits) == 6, "each pass of each layer should hand one chunk to a thread"
        for got, want in zip(threaded, single, strict=True):
            np.testing.assert_array_equal(got, want)


def test_results_are_right_where_threads_cannot_start(kernels, submits, monkeypatch):
    monkeypatch.setenv("LAYERLAB_THREADS", "1")
    expected = run_all()

    def refuse(self, fn, *args, **kwargs):
        submits.append(fn.__name__)
        raise RuntimeError("can't start new thread")
    monkeypatch.setattr(ThreadPoolExecutor, "submit", refuse)
    monkeypatch.setenv("LAYERLAB_THREADS", "2")
    for got, want in zip(run_all(), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert len(submits) == 1


def test_the_batch_blocks_depend_on_the_shapes_only(monkeypatch):
    """The blocks (and so the rounding) never follow the thread count; a lone row, or too
    little work for a thread, stays in one block."""
    x, h0 = np.zeros((64, 50, 128)), np.zeros((64, 256))
    blocks = {}
    for threads in ("1", "2", "7"):
        monkeypatch.setenv("LAYERLAB_THREADS", threads)
        blocks[threads] = core_ext._row_blocks(x, h0, 4)[0].tolist()
    assert blocks["1"] == blocks["2"] == blocks["7"] == [0, 32, 64]
    assert core_ext._row_blocks(np.zeros((1, 200, 32)), np.zeros((1, 64)), 4)[0].tolist() == [0, 1]
    assert core_ext._row_blocks(np.zeros((4, 3, 2)), np.zeros((4, 5)), 4)[0].tolist() == [0, 4]
    assert core_ext._row_blocks(np.zeros((200, 8, 64)), np.zeros((200, 64)), 1)[0].tolist() == \
        [0, 33, 66, 100, 133, 166, 200]


# -- the gate loops' activations ----------------------------------------------------------------
def awkward_values(dtype):
    """Normal values, tiny and huge ones of both signs, zeros and the cut-offs' neighbourhoods."""
    rng = np.random.default_rng(5)
    tiny = np.finfo(dtype).tiny
    grid = np.concatenate([rng.standard_normal(100_000) * 4, rng.uniform(-50, 50, 100_000),
                           np.geomspace(tiny, 1e3, 20_000), -np.geomspace(tiny, 1e3, 20_000),
                           np.linspace(-21, 21, 20_001), [0.0, -0.0]])
    return grid.astype(dtype)


@pytest.mark.parametrize("dtype,limit", [(np.float64, 1e-15), (np.float32, 2e-7)])
@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_gate_activations_are_accurate(name, dtype, limit):
    """Within 1e-15 relative of np.tanh / SciPy's expit in float64 (a few ulp), and 2e-7 of
    them computed in float64 for float32 inputs (about 2 ulp), over normal, tiny and large
    inputs. (Sigmoid results below the smallest normal number are flushed to 0.)"""
    x = awkward_values(dtype)
    if name == "sigmoid" and dtype == np.float64:
        x = x[x > -700]
    if name == "sigmoid" and dtype == np.float32:
        x = x[x > -85]
    got = np.empty_like(x)
    getattr(core_ext._rnn, name)(x, got)
    want = (np.tanh if name == "tanh" else expit)(x.astype(np.float64))
    error = np.abs(got - want) / np.where(want == 0, 1, np.abs(want))
    worst = np.argmax(error)
    assert error[worst] < limit, f"{name}({x[worst]!r}) = {got[worst]!r}, expected {want[worst]!r}"
    assert np.all(got[want == 0] == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gate_activations_at_the_extremes(dtype):
    x = np.array([np.inf, -np.inf, np.nan, 1e30, -1e30, 800, -800, 0.0], dtype)
    got = np.empty_like(x)
    core_ext._rnn.tanh(x, got)
    np.testing.assert_array_equal(got, [1, -1, np.nan, 1, -1, 1, -1, 0])
    core_ext._rnn.sigmoid(x, got)
    np.testing.assert_array_equal(got, [1, 0, np.nan, 1, 0, 1, 0, 0.5])


def test_the_compiled_layers_pass_nan_on(kernels):
    """A diverging run must not be hidden: NaN in, NaN out (forward and backward)."""
    arrays = inputs("lstm", (2, 3, 4, 5))
    arrays[0][1, 1, 2] = np.nan
    h, cache = core_ext.lstm_forward(*arrays)
    assert np.isnan(h[1, 1:]).all() and not np.isnan(h[0]).any() and not np.isnan(h[1, 0]).any()
    dx = core_ext.lstm_backward(np.ones_like(h), cache)[0]
    assert np.isnan(dx[1, :2]).any() and not np.isnan(dx[0]).any()


# -- bad input ----------------------------------------------------------------------------------
def bad(kind, index, value):
    arrays = inputs(kind, (2, 3, 4, 5))
    arrays[index] = value
    return arrays


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("index,value,error,message", [
    (0, np.zeros((2, 3)), ValueError, r"x must be a 3-d array \(N, T, D\); got shape \(2, 3\)"),
    (0, [[[1.0]]], ValueError, "x must be a NumPy array; got list"),
    (1, np.zeros((3, 5)), ValueError, r"h0 must have shape \(N, H\) with N = 2.*got \S+ \(3, 5\)"),
    (1, np.zeros(5), ValueError, r"h0 must have shape \(N, H\)"),
    (2, np.zeros((5, 5)), ValueError, r"Wx must have shape \(D, .*\) for D = 4.*got \S+ \(5, 5\)"),
    (3, np.zeros((5, 1)), ValueError, r"Wh must have shape \(H, .*H = 5 \(from h0\); got shape"),
    (4, np.zeros(3), ValueError, r"b\w? must have shape \(\d?H,\)"),
    (4, None, ValueError, r"b\w? must be a NumPy array; got NoneType"),
])
def test_forward_rejects_bad_input_with_a_clear_message(kind, index, value, error, message):
    arrays = bad(kind, index, value)
    with pytest.raises(error, match=f"{kind}_forward: {message}"):
        layer(kind)[0](*arrays)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("dtypes,message", [
    ({0: np.float32}, "got x float32, h0 float64, Wx float64"),
    ({4: np.float32}, r"got x float64, .*, b\w? float32"),
    ({1: np.int64}, "got x float64, h0 int64,"),
    ({i: np.int64 for i in range(6)}, "got x int64, h0 int64"),
    ({i: np.float16 for i in range(6)}, "got x float16, h0 float16"),
    ({i: np.float32 for i in range(6)} | {3: np.float16}, "got x float32, .*, Wh float16"),
    ({0: bool}, "got x bool"),
], ids=["x-f32", "b-f32", "h0-int", "int", "f16", "f32-Wh-f16", "bool"])
def test_forward_rejects_mixed_and_non_float_dtypes_with_a_type_error(kind, dtypes, message):
    """A dtype error is a TypeError, as in conv_forward and the pooling layers."""
    arrays = inputs(kind, (2, 3, 4, 5))
    arrays = [a.astype(dtypes.get(i, a.dtype)) for i, a in enumerate(arrays)]
    with pytest.raises(TypeError, match=f"{kind}_forward: .* must all be float32 or all "
                                        f"float64; {message}"):
        layer(kind)[0](*arrays)


@pytest.mark.parametrize("kind", LAYERS)
def test_a_wrong_shape_is_a_value_error_whatever_the_dtype(kind):
    arrays = [a.astype(np.int64) for a in inputs(kind, (2, 3, 4, 5))]
    arrays[2] = arrays[2][:-1]
    with pytest.raises(ValueError, match=f"{kind}_forward: Wx must have shape"):
        layer(kind)[0](*arrays)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("dh", [np.zeros((2, 3, 4)), np.zeros((2, 3)), [[[0.0]]]],
                         ids=["H", "2-d", "list"])
def test_backward_rejects_a_wrong_dh(kind, dh):
    forward, backward = layer(kind)
    _, cache = forward(*inputs(kind, (2, 3, 4, 5)))
    with pytest.raises(ValueError, match=r"dh must have shape \(2, 3, 5\) \(N, T, H\)"):
        backward(dh, cache)


# -- the reference solutions (solutions/a3_rnn/rnn_layers.py) -----------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", SMALL, ids=case_id)
@pytest.mark.parametrize("kind", LAYERS)
def test_layers_match_the_reference_solutions(kernels, kind, case, dtype):
    forward, backward = layer(kind)
    ref_forward, ref_backward = (getattr(rnn_layers, f"{kind}_forward"),
                                 getattr(rnn_layers, f"{kind}_backward"))
    arrays = inputs(kind, case, dtype)
    h, cache = forward(*arrays)
    wide = [a.astype(np.float64) for a in arrays]
    ref_h, ref_cache = ref_forward(*wide)
    assert_matches("h", h, ref_h, dtype)
    dh = np.random.default_rng(6).standard_normal(h.shape).astype(dtype)
    for name, got, want in zip(GRAD_NAMES[kind], backward(dh, cache),
                               ref_backward(dh.astype(np.float64), ref_cache), strict=True):
        assert_matches(name, got, want, dtype)
