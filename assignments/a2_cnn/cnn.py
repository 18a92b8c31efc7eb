"""A2 convolutional network (task a2.cnn) and its training loop (task a2.training).

ThreeLayerConvNet stacks your blocks from layer_utils.py and your layers from layers.py: call
them through their modules, e.g. layer_utils.conv_relu_pool_forward(...),
layers.softmax_loss(...). The blocks run on the fast layers of core_ext, so the network trains
in seconds. train() is A1's training loop; A2 has no optim.py, so write the update rules it
needs here as private helpers (names starting with "_", e.g. _adam), from your A1 optim.py.
Replace each `raise NotImplementedError(...)` with your implementation, using NumPy only. See
README.md; `layerlab check a2` runs the public checks.
"""
import numpy as np

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import layer_utils, layers
except ImportError:
    import layer_utils, layers  # noqa: E401,F401 - the flat twin of the import above


class ThreeLayerConvNet:
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax.

    The convolution has num_filters filters of filter_size x filter_size, stride 1 and
    pad = (filter_size - 1) // 2, so for an odd filter_size it keeps H and W; the pool (2x2,
    stride 2) then halves them. self.params holds
    - 'W1': (num_filters, C, filter_size, filter_size), 'b1': (num_filters,)
    - 'W2': (num_filters * (H // 2) * (W // 2), hidden_dim), 'b2': (hidden_dim,)
    - 'W3': (hidden_dim, num_classes), 'b3': (num_classes,)
    where (C, H, W) = input_dim.
    """

    def __init__(self, input_dim=(1, 8, 8), num_filters=16, filter_size=3, hidden_dim=100,
                 num_classes=10, *, weight_scale=1e-2, reg=0.0, dtype=np.float64, seed=None):
        """Initialise the parameters.

        Weights are drawn from N(0, weight_scale**2) with rng = np.random.default_rng(seed),
        biases are zeros, all of dtype `dtype`.

        Inputs:
        - input_dim: (C, H, W), the shape of one input sample
        - num_filters: F, the number of convolution filters
        - filter_size: the height and width of each filter (odd)
        - hidden_dim: the size of the hidden fully connected layer
        - num_classes: the number of classes
        - weight_scale: standard deviation of the initial weights
        - reg: L2 strength; the loss adds 0.5 * reg * sum(W**2) for W1, W2 and W3 (not the
          biases)
        - dtype: dtype of the parameters and of the computation (np.float32 trains faster,
          np.float64 is what gradient checks need)
        - seed: seeds the initialisation
        """
        raise NotImplementedError("a2.cnn: implement __init__")

    def set_params(self, params):
        """Replace self.params by copies of the given arrays (the grader loads known weights).

        Inputs:
        - params: dict with the same keys and shapes as self.params
        """
        raise NotImplementedError("a2.cnn: implement set_params")

    def loss(self, X, y=None):
        """Class scores, or the loss and its gradients.

        Inputs:
        - X: (N, C, H, W) inputs
        - y: (N,) integer labels, or None

        Returns:
        - if y is None: scores (N, num_classes)
        - else (loss, grads): loss is the mean softmax cross-entropy plus
          0.5 * reg * sum(W**2) over W1, W2 and W3, a Python float; grads has the keys of
          self.params, each gradient of the shape of its parameter
        """
        raise NotImplementedError("a2.cnn: implement loss")


def train(model, X_train, y_train, X_val, y_val, *, epochs=10, batch_size=100,
          update_rule="adam", optim_config=None, seed=0, verbose=True):
    """Train model by minibatch updates; return the per-epoch loss and accuracies.

    The training loop of A1's fc_net.train. Each epoch visits the training set once in a
    random order (rng = np.random.default_rng(seed), one permutation per epoch) in minibatches
    of batch_size, and after each minibatch updates every parameter k with its gradient
    grads[k] by the update rule, each parameter with its own state (velocity, or m, v and t).
    The rules are those of A1's optim.py, with the same defaults:
    - 'sgd': w -= learning_rate * dw                                  (learning_rate 1e-2)
    - 'sgd_momentum': v = momentum * v - learning_rate * dw; w += v   (1e-2, momentum 0.9)
    - 'adam': t += 1; m = beta1 * m + (1 - beta1) * dw; v = beta2 * v + (1 - beta2) * dw**2;
      w -= learning_rate * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + epsilon)
      (learning_rate 1e-3, beta1 0.9, beta2 0.999, epsilon 1e-8)
    After each epoch the accuracies argmax(model.loss(X)) == y are computed on the whole
    training and validation sets.

    On scikit-learn's digits (X = load_digits().data.reshape(-1, 1, 8, 8) / 16 and its targets,
    both permuted by np.random.default_rng(0).permutation(1797); the first 1500 for training,
    the other 297 for validation), ThreeLayerConvNet(weight_scale=0.1, reg=1e-4, seed=s)
    trained with epochs=30, batch_size=50, update_rule='adam', learning_rate 3e-3 and seed=s
    reaches a validation accuracy of at least 0.986 for every s in 0..9 (median 0.993), in
    about 3 s with the compiled core_ext (6 s with its NumPy fallback); 'sgd_momentum' with
    learning_rate 5e-2 and otherwise the same settings does as well (median 0.990).

    Inputs:
    - model: a ThreeLayerConvNet (anything with .params and .loss(X, y=None))
    - X_train: (N_train, C, H, W) training inputs; y_train: (N_train,) labels
    - X_val: (N_val, C, H, W) validation inputs; y_val: (N_val,) labels
    - epochs: number of passes over the training set
    - batch_size: minibatch size (the last minibatch of an epoch may be smaller)
    - update_rule: 'sgd', 'sgd_momentum' or 'adam'
    - optim_config: dict of hyper-parameters for the update rule, e.g. {'learning_rate': 1e-3}
    - seed: seed of the minibatch order
    - verbose: print one line per epoch (loss, training and validation accuracy)

    Returns:
    - history: dict with lists of one float per epoch: 'loss' (mean minibatch loss of the
      epoch), 'train_acc' and 'val_acc' (after the epoch)
    """
    raise NotImplementedError("a2.training: implement train")
