"""Hidden tests: FullyConnectedNet against the reference model loaded with the same weights, and
training on scikit-learn's digits, judged by the reference forward pass on the trained weights."""

import functools

import numpy as np
import pytest

from grader.compare import (Mismatch, check_array, check_params, check_scalar, expect_tuple,
                            outputs)

# name: (hidden_dims, shape of one sample, num_classes, N, keyword options)
NETS = {
    "1-hidden": ([5], (4,), 3, 6, {}),
    "2-hidden-N1": ([6, 4], (5,), 4, 1, {"reg": 0.2}),
    "3-hidden-reg": ([5, 7, 3], (2, 3), 5, 7, {"reg": 0.3}),
    "batchnorm": ([6, 5], (4,), 3, 8, {"normalization": "batchnorm", "reg": 0.1}),
    "layernorm": ([6, 5], (4,), 3, 5, {"normalization": "layernorm", "reg": 0.1}),
    "layernorm-N1": ([4], (3,), 2, 1, {"normalization": "layernorm"}),
    "dropout-keep-1": ([5, 4], (3,), 3, 4, {"dropout_keep_ratio": 1.0, "reg": 0.05}),
}
NORMALIZATIONS = [None, "batchnorm", "layernorm"]


def random_params(rng, like: dict) -> dict:
    """Weights scaled by 1/sqrt(fan-in), small biases and betas, gammas near 1."""
    params = {}
    for key, value in like.items():
        if key.startswith("W"):
            params[key] = rng.standard_normal(value.shape) / np.sqrt(value.shape[0])
        elif key.startswith("gamma"):
            params[key] = 1 + 0.2 * rng.standard_normal(value.shape)
        else:
            params[key] = 0.2 * rng.standard_normal(value.shape)
    return params


def build(student, ref, rng, hidden_dims, input_dim, num_classes, **options):
    """The student's and the reference model, both holding the same random weights."""
    model = student.new("FullyConnectedNet", hidden_dims, input_dim, num_classes, seed=0,
                        **options)
    reference = ref.FullyConnectedNet(hidden_dims, input_dim, num_classes, seed=0, **options)
    check_params(student.attr(model, "params"), reference.params, "self.params after __init__")
    params = random_params(rng, reference.params)
    student.method(model, "set_params", params)
    check_params(student.attr(model, "params"), reference.params, "self.params after set_params")
    reference.set_params(params)
    return model, reference


def net_case(student, ref, rng, name):
    hidden_dims, sample, num_classes, n, options = NETS[name]
    model, reference = build(student, ref, rng, hidden_dims, int(np.prod(sample)), num_classes,
                             **options)
    X = rng.standard_normal((n, *sample))
    y = rng.integers(0, num_classes, size=n)
    return model, reference, X, y


def check_loss_and_grads(got, expected, params: dict) -> None:
    __tracebackhide__ = True
    loss, grads = expect_tuple(got, ("loss", "grads"), "loss(X, y)")
    check_params(grads, params, "grads")
    with outputs() as checks:  # the loss and each gradient earn their share
        with checks.part("loss"):
            check_scalar("loss", loss, expected[0], rtol=1e-6)
        for key in params:
            # a gradient that is 0 (a bias before batchnorm) earns no share of its own: all-zero
            # grads would get it
            zero = not np.any(np.abs(expected[1][key]) > 1e-9)
            with checks.part("loss" if zero else key):
                check_array(f"grads['{key}']", grads[key], expected[1][key], rtol=1e-5)


@pytest.mark.task("a1.fcnet")
@pytest.mark.points(2)
@pytest.mark.parametrize("normalization", NORMALIZATIONS, ids=str)
def test_init(student, ref, normalization):
    """FullyConnectedNet.__init__: keys and shapes; W ~ N(0, weight_scale^2), b, beta 0, gamma 1"""
    dims, scale = [50, 60, 40, 10], 0.05
    model = student.new("FullyConnectedNet", dims[1:-1], dims[0], dims[-1],
                        normalization=normalization, weight_scale=scale, seed=3)
    params = student.attr(model, "params")
    expected = ref.FullyConnectedNet(dims[1:-1], dims[0], dims[-1], normalization=normalization,
                                     weight_scale=scale, seed=3).params
    check_params(params, expected, "self.params")
    for key, value in expected.items():
        if key.startswith("W"):
            if params[key].dtype != np.float64:
                raise Mismatch(f"self.params['{key}'] has dtype {params[key].dtype}; expected "
                               "float64 (the default dtype)")
            std, mean = float(params[key].std()), float(params[key].mean())
            spread = 5 * scale / np.sqrt(value.size)  # five standard errors of the mean
            if not (0.8 * scale < std < 1.2 * scale and abs(mean) < spread):
                raise Mismatch(f"self.params['{key}'] has mean {mean:.3g} and std {std:.3g}; "
                               f"expected N(0, weight_scale**2) with weight_scale = {scale}")
        else:
            check_array(f"self.params['{key}']", params[key], value)


@pytest.mark.task("a1.fcnet")
@pytest.mark.points(3)
@pytest.mark.parametrize("name", [n for n in NETS if n != "batchnorm"])
def test_scores(student, ref, rng, name):
    """FullyConnectedNet.loss(X): test-mode scores match the reference with the same weights"""
    model, reference, X, _ = net_case(student, ref, rng, name)
    check_array("scores", student.method(model, "loss", X), reference.loss(X))


@pytest.mark.task("a1.fcnet")
@pytest.mark.points(6)
@pytest.mark.parametrize("name", list(NETS))
def test_loss_and_grads(student, ref, rng, name):
    """FullyConnectedNet.loss(X, y): loss (with L2) and every gradient match the reference"""
    model, reference, X, y = net_case(student, ref, rng, name)
    check_loss_and_grads(student.method(model, "loss", X, y), reference.loss(X, y),
                         reference.params)


@pytest.mark.task("a1.fcnet")
@pytest.mark.points(1)
def test_batchnorm_test_mode(student, ref, rng):
    """FullyConnectedNet.loss(X): batchnorm test mode uses the running statistics of training"""
    model, reference, X, y = net_case(student, ref, rng, "batchnorm")
    for batch in (slice(0, 5), slice(3, 8)):
        student.method(model, "loss", X[batch], y[batch])
        reference.loss(X[batch], y[batch])
    check_array("scores", student.method(model, "loss", X), reference.loss(X))


@pytest.mark.task("a1.fcnet")
@pytest.mark.points(2)
def test_dropout(student, ref, rng):
    """FullyConnectedNet.loss: dropout (keep 0.5) is on in training and off at test time"""
    model, reference = build(student, ref, rng, [40, 30], 6, 4, dropout_keep_ratio=0.5,
                             reg=0.1)
    X, y = rng.standard_normal((20, 6)), rng.integers(0, 4, size=20)
    test_scores = reference.loss(X)
    check_array("scores", student.method(model, "loss", X), test_scores)
    loss, grads = expect_tuple(student.method(model, "loss", X, y), ("loss", "grads"),
                               "loss(X, y)")
    check_params(grads, reference.params, "grads")
    for key, grad in grads.items():
        if not np.all(np.isfinite(grad)):
            raise Mismatch(f"grads['{key}'] is not finite with dropout")
    check_scalar("loss", loss, 0.0, atol=np.inf)  # any finite number
    weights = [v for k, v in reference.params.items() if k.startswith("W")]
    test_loss = ref.softmax_loss(test_scores, y)[0] + 0.05 * sum(np.sum(W * W) for W in weights)
    if abs(loss - test_loss) < 1e-6 * abs(test_loss):
        raise Mismatch(f"the training loss with dropout is {loss:.6g}, the same as without "
                       "dropout: dropout is not applied in training mode")
    check_array("scores after a training call", student.method(model, "loss", X), test_scores)


@functools.cache
def digits():
    """scikit-learn's 8x8 digits scaled to [0, 1], split 1500 / 297 after a fixed permutation."""
    from sklearn.datasets import load_digits

    data = load_digits()
    order = np.random.default_rng(0).permutation(len(data.target))
    X, y = data.data[order] / 16.0, data.target[order]
    return X[:1500], y[:1500], X[1500:], y[1500:]


def validation_accuracy(student, ref, model, hidden_dims) -> float:
    """Accuracy of the student's trained weights, computed with the reference forward pass."""
    _, _, X_val, y_val = digits()
    reference = ref.FullyConnectedNet(hidden_dims, 64, 10)
    params = student.attr(model, "params")
    check_params(params, reference.params, "self.params after train")
    reference.set_params(params)
    scores = reference.loss(X_val)
    if not np.all(np.isfinite(scores)):
        raise Mismatch("the trained weights give non-finite scores")
    return float(np.mean(np.argmax(scores, axis=1) == y_val))


@pytest.mark.task("a1.training")
@pytest.mark.points(5)
@pytest.mark.timeout(300)
@pytest.mark.parametrize("update_rule,learning_rate", [("sgd_momentum", 0.1), ("adam", 5e-3)],
                         ids=["sgd_momentum", "adam"])
def test_train_digits(student, ref, update_rule, learning_rate):
    """train: 20 epochs on digits reach 95 % validation accuracy (measured by the grader)"""
    model = student.new("FullyConnectedNet", [100], 64, 10, weight_scale=0.1, reg=1e-4, seed=0)
    with student.timeout(120):
        student.train(model, *digits(), epochs=20, batch_size=100, update_rule=update_rule,
                      optim_config={"learning_rate": learning_rate}, seed=0, verbose=False)
    accuracy = validation_accuracy(student, ref, model, [100])
    if accuracy < 0.95:
        raise Mismatch(f"validation accuracy {accuracy:.3f} after 20 epochs of {update_rule} "
                       f"(learning rate {learning_rate}); expected at least 0.95 (the reference "
                       "reaches about 0.98)")


@pytest.mark.task("a1.training")
@pytest.mark.points(1)
@pytest.mark.timeout(300)
def test_train_history(student, ref):
    """train: history has one entry per epoch, the loss falls, val_acc is the real accuracy"""
    model = student.new("FullyConnectedNet", [20], 64, 10, weight_scale=0.1, seed=1)
    with student.timeout(120):
        history = student.train(model, *digits(), epochs=3, batch_size=50, update_rule="sgd",
                                optim_config={"learning_rate": 0.2}, seed=1, verbose=False)
    if not isinstance(history, dict) or not {"loss", "train_acc", "val_acc"} <= set(history):
        raise Mismatch("train returned no dict with keys 'loss', 'train_acc' and 'val_acc'")
    for key in ("loss", "train_acc", "val_acc"):
        values = history[key]
        if not isinstance(values, (list, np.ndarray)) or len(values) != 3:
            raise Mismatch(f"history['{key}'] should be a list of 3 numbers (one per epoch); "
                           f"got {values!r:.200}")
    losses = [float(v) for v in history["loss"]]
    if not losses[-1] < losses[0]:
        raise Mismatch(f"the loss does not fall over 3 epochs of SGD: {losses}")
    check_scalar("history['val_acc'][-1]", history["val_acc"][-1],
                 validation_accuracy(student, ref, model, [20]))
