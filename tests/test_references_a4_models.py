"""Reference solutions of the A4 models (vit.py, mixer.py, gpt.py) against numerical gradients,
their definitions written another way (PyTorch's Conv2d for the patch embedding where torch is
installed), the properties the handout states and their graded training runs."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from gradients import assert_grad  # tests/gradients.py
from solutions.a4_attention import grammar, gpt, mixer, training, vit

ZERO_BY_CONSTRUCTION = ("b_K", "b_tok2")  # the softmax and the next layer norm ignore them


def randomised(model, seed=0):
    """The model with every parameter moved off its initialisation (zero biases would hide a
    missing bias gradient)."""
    rng = np.random.default_rng(seed + 10)
    model.set_params({k: v + 0.3 * rng.standard_normal(v.shape) for k, v in model.params.items()})
    return model


def assert_model_grads(model, *args, tol=1e-6):
    _, grads = model.loss(*args)
    assert set(grads) == set(model.params)
    for key, value in model.params.items():
        if key.endswith(ZERO_BY_CONSTRUCTION):
            assert np.abs(grads[key]).max() < 1e-12, key
            continue

        def loss_at(v, key=key):
            model.params[key] = v
            return model.loss(*args)[0]

        assert_grad(key, grads[key], loss_at, value.copy(), tol=tol)
        model.params[key] = value


# == the ViT front end ===========================================================================
@pytest.mark.parametrize("shape,p", [((2, 3, 4, 6), 2), ((1, 1, 8, 8), 4), ((2, 2, 6, 3), 3)])
def test_patchify_order_and_inverse(shape, p):
    x = np.random.default_rng(0).standard_normal(shape)
    out, cache = vit.patchify_forward(x, p)
    N, C, H, W = shape
    loops = np.array([[x[n, :, i:i + p, j:j + p].reshape(-1) for i in range(0, H, p)
                       for j in range(0, W, p)] for n in range(N)])
    np.testing.assert_array_equal(out, loops)
    np.testing.assert_array_equal(vit.patchify_backward(out, cache), x)  # a permutation


def test_patch_embedding_is_a_strided_convolution():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, W, b = (rng.standard_normal(s) for s in ((2, 3, 8, 8), (12, 5), 5))
    patches, _ = vit.patchify_forward(x, 2)
    out, _ = vit.patch_embedding_forward(patches, W, b)
    conv = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(W.T.reshape(5, 3, 2, 2)),
                                      torch.tensor(b), stride=2)
    np.testing.assert_allclose(out, conv.flatten(2).transpose(1, 2).numpy(), rtol=1e-12)


def test_frontend_gradients():
    rng = np.random.default_rng(2)
    patches, W, b = (rng.standard_normal(s) for s in ((2, 3, 4), (4, 5), 5))
    out, cache = vit.patch_embedding_forward(patches, W, b)
    dout = rng.standard_normal(out.shape)
    dp, dW, db = vit.patch_embedding_backward(dout, cache)
    assert_grad("dpatches", dp, lambda v: np.sum(dout * vit.patch_embedding_forward(v, W, b)[0]),
                patches)
    assert_grad("dW", dW, lambda v: np.sum(dout * vit.patch_embedding_forward(patches, v, b)[0]), W)
    assert_grad("db", db, lambda v: np.sum(dout * vit.patch_embedding_forward(patches, W, v)[0]), b)
    x, cls = rng.standard_normal((3, 2, 4)), rng.standard_normal(4)
    out, cache = vit.cls_token_forward(x, cls)
    dout = rng.standard_normal(out.shape)
    dx, dcls = vit.cls_token_backward(dout, cache)
    np.testing.assert_array_equal(out[:, 0], np.broadcast_to(cls, (3, 4)))
    assert_grad("dx", dx, lambda v: np.sum(dout * vit.cls_token_forward(v, cls)[0]), x)
    assert_grad("dcls", dcls, lambda v: np.sum(dout * vit.cls_token_forward(x, v)[0]), cls)


# == the models ==================================================================================
@pytest.mark.parametrize("depth,activation", [(1, "relu"), (2, "gelu")])
def test_vit_gradients(depth, activation):
    model = randomised(vit.ViT(4, 2, 2, 3, 8, depth, 2, 12, activation=activation, seed=0))
    rng = np.random.default_rng(3)
    # 1e-5, not 1e-6: through two blocks some entries of block1_W_Q's gradient are ~1e-5, where
    # the centred difference's own rounding (~eps |loss| / h, ~2e-11) is already 2e-6 of them
    # (seen with OpenBLAS's Haswell kernels); a wrong gradient is off by far more than 1e-5.
    assert_model_grads(model, rng.standard_normal((3, 2, 4, 4)), rng.integers(0, 3, 3), tol=1e-5)


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_mixer_block_gradients(activation):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 4))
    model = mixer.MLPMixer(4, 2, 1, 3, 4, 1, 5, 6, seed=0)
    params = {k.removeprefix("block0_"): v + 0.3 * rng.standard_normal(v.shape)
              for k, v in model.params.items() if k.startswith("block0_")}
    block_param = {"activation": activation}
    out, cache = mixer.mixer_block_forward(x, params, block_param)
    dout = rng.standard_normal(out.shape)
    dx, grads = mixer.mixer_block_backward(dout, cache)
    assert_grad("dx", dx, lambda v: np.sum(dout * mixer.mixer_block_forward(v, params,
                                                                             block_param)[0]), x)
    for key in mixer.MIXER_KEYS:  # b_tok2's too: the block's output keeps it (its residual)
        assert_grad(key, grads[key], lambda v, key=key: np.sum(dout * mixer.mixer_block_forward(
            x, {**params, key: v}, block_param)[0]), params[key], tol=1e-6)


def test_mixer_token_mlp_mixes_patches_and_channel_mlp_features():
    """Switched off (second layers 0) the block is the identity; with only the token MLP on,
    every feature is mixed across patches by the same MLP."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 4))
    params = {k.removeprefix("block0_"): v for k, v in
              mixer.MLPMixer(4, 2, 1, 3, 4, 1, 5, 6, seed=1).params.items() if "block0_" in k}
    off = {**params, **{k: np.zeros_like(params[k]) for k in ("W_tok2", "b_tok2", "W_ch2",
                                                              "b_ch2")}}
    np.testing.assert_allclose(mixer.mixer_block_forward(x, off, {})[0], x)
    tok_only = {**off, "W_tok2": params["W_tok2"]}
    out = mixer.mixer_block_forward(x, tok_only, {"activation": "relu"})[0]
    u = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    by_hand = np.maximum(np.einsum("npd,ps->nds", u, params["W_tok1"]), 0) @ params["W_tok2"]
    np.testing.assert_allclose(out, x + by_hand.transpose(0, 2, 1), rtol=1e-10)


@pytest.mark.parametrize("depth", [1, 2])
def test_mixer_gradients(depth):
    model = randomised(mixer.MLPMixer(4, 2, 2, 3, 4, depth, 3, 5, seed=0))
    rng = np.random.default_rng(6)
    assert_model_grads(model, rng.standard_normal((2, 2, 4, 4)), rng.integers(0, 3, 2))


@pytest.mark.parametrize("depth", [1, 2])
def test_gpt_gradients_with_repeated_tokens(depth):
    model = randomised(gpt.GPT(5, 6, 4, depth, 2, 6, seed=0))
    x = np.array([[1, 2, 1, 1, 4], [0, 0, 3, 2, 1]])
    assert_model_grads(model, x, np.roll(x, -1, axis=1))


def test_gpt_is_causal_and_samples_greedily():
    model = randomised(gpt.GPT(6, 4, 8, 2, 2, 8, seed=2))
    x = np.array([[1, 2, 3, 4]])
    scores = model.loss(x)
    for t in range(4):
        changed = x.copy()
        changed[0, t] = 5
        np.testing.assert_array_equal(model.loss(changed)[:, :t], scores[:, :t])
    tokens, context = model.sample([1, 2, 3, 4, 5], 6), [1, 2, 3, 4, 5]
    for token in tokens:
        assert token == np.argmax(model.loss(np.array([context[-4:]]))[0, -1])
        context.append(int(token))
    drawn = model.sample(1, 50, temperature=1.0, seed=3)
    np.testing.assert_array_equal(drawn, model.sample(1, 50, temperature=1.0, seed=3))
    assert len(set(drawn.tolist())) > 2  # temperature 1 draws, it does not take the argmax


# == the graded training runs (the hidden tests' settings; the seeds' spread in the handout) =====
@pytest.mark.parametrize("cls,args", [(vit.ViT, (8, 4, 1, 10, 32, 1, 2, 64)),
                                      (mixer.MLPMixer, (8, 4, 1, 10, 32, 1, 32, 32))])
def test_digits_training_reaches_the_goal(cls, args):
    X, y, X_val, y_val = training.load_digits()
    with threadpool_limits(1):
        model = cls(*args, seed=1)
        losses = vit.train_classifier(model, X, y, seed=1)
    assert len(losses) == 12 * 47
    assert np.mean(np.argmax(model.loss(X_val), axis=1) == y_val) >= 0.93


def test_gpt_training_loss_falls():
    data = grammar.encode(grammar.generate(20_000, seed=11))
    with threadpool_limits(1):
        model = gpt.GPT(len(grammar.CHARS), 32, 32, 1, 2, 64, seed=1)
        losses = gpt.train_gpt(model, data, 32, 16, 80, learning_rate=1e-2, seed=1)
    assert np.mean(losses[:10]) > 2.0 and np.mean(losses[-10:]) < 1.3
    validation = grammar.encode(grammar.generate(3_200, seed=12))
    assert grammar.entropy_rate() < grammar.evaluate(model, validation, 10, 32) < 1.3
