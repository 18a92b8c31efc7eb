"""A1 fully connected network (task a1.fcnet) and its training loop (task a1.training).

FullyConnectedNet stacks your layers: {affine - [batchnorm | layernorm] - relu - [dropout]}
x (L - 1) - affine - softmax, and computes its loss and every gradient; train() fits it with
your update rules from optim.py. Call your functions through their modules, e.g.
layers.affine_forward(...), normalization.batchnorm_forward(...), optim.adam(...). Replace each
`raise NotImplementedError(...)` with your implementation, using NumPy only. See README.md;
`layerlab check a1` runs the public checks.
"""
import numpy as np

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import activations, layers, losses, normalization, optim
except ImportError:
    import activations, layers, losses, normalization, optim  # noqa: E401,F401 - flat twin of the above


class FullyConnectedNet:
    """{affine - [batchnorm | layernorm] - relu - [dropout]} x (L - 1) - affine - softmax.

    L = len(hidden_dims) + 1 affine layers. self.params maps 'W1', 'b1', ..., 'WL', 'bL' (and
    'gamma1', 'beta1', ..., 'gamma{L-1}', 'beta{L-1}' with normalization) to arrays; Wi has
    shape (dims[i-1], dims[i]) and bi shape (dims[i],) with dims = [input_dim, *hidden_dims,
    num_classes]; gammai and betai have shape (hidden_dims[i-1],).
    """

    def __init__(self, hidden_dims, input_dim, num_classes, *, normalization=None,
                 dropout_keep_ratio=1.0, reg=0.0, weight_scale=1e-2, dtype=np.float64, seed=None):
        """Initialise the parameters.

        Weights are drawn from N(0, weight_scale**2) with rng = np.random.default_rng(seed),
        biases and betas are zeros and gammas ones, all of dtype `dtype`. Keep the layer
        settings too: self.dropout_param = {'mode': 'train', 'p': dropout_keep_ratio} (plus
        'seed': seed when given) and self.bn_params, one dict per hidden layer; loss() sets
        their 'mode', and batchnorm keeps its running statistics in them.

        Inputs:
        - hidden_dims: list of the sizes of the hidden layers, e.g. [100, 50]
        - input_dim: D, the size of one flattened input sample
        - num_classes: C
        - normalization: None, 'batchnorm' or 'layernorm', after each hidden affine layer
        - dropout_keep_ratio: p of dropout_forward (keep probability) after each hidden ReLU;
          1.0 means no dropout
        - reg: L2 strength; the loss adds 0.5 * reg * sum(W**2) for every weight matrix W
          (not the biases, gammas or betas)
        - weight_scale: standard deviation of the initial weights
        - dtype: dtype of the parameters and of the computation
        - seed: seeds the initialisation and, when given, the dropout masks
        """
        raise NotImplementedError("a1.fcnet: implement __init__")

    def set_params(self, params):
        """Replace self.params by copies of the given arrays (the grader loads known weights).

        Inputs:
        - params: dict with the same keys and shapes as self.params
        """
        raise NotImplementedError("a1.fcnet: implement set_params")

    def loss(self, X, y=None):
        """Class scores, or the loss and its gradients.

        Inputs:
        - X: (N, d_1, ..., d_k) inputs with d_1 * ... * d_k = input_dim
        - y: (N,) integer labels, or None

        Returns:
        - if y is None: scores (N, C), computed in test mode (dropout off, batchnorm on its
          running statistics)
        - else (loss, grads), in training mode: loss is the mean softmax cross-entropy plus
          0.5 * reg * sum(W**2) over the weight matrices, a Python float; grads has the keys of
          self.params, each gradient of the shape of its parameter
        """
        raise NotImplementedError("a1.fcnet: implement loss")


def train(model, X_train, y_train, X_val, y_val, *, epochs=10, batch_size=100,
          update_rule="sgd_momentum", optim_config=None, seed=0, verbose=True):
    """Train model by minibatch updates; return the per-epoch loss and accuracies.

    Each epoch visits the training set once in a random order (rng = np.random.default_rng(seed),
    one permutation per epoch) in minibatches of batch_size, and after each minibatch updates
    every parameter k with next_w, config_k = getattr(optim, update_rule)(w, grads[k], config_k).
    Every parameter has its own config dict, a copy of optim_config at the start. After each
    epoch the accuracies argmax(model.loss(X)) == y are computed in test mode on the whole
    training and validation sets.

    Inputs:
    - model: a FullyConnectedNet (anything with .params and .loss(X, y=None))
    - X_train: (N_train, ...) training inputs; y_train: (N_train,) labels
    - X_val: (N_val, ...) validation inputs; y_val: (N_val,) labels
    - epochs: number of passes over the training set
    - batch_size: minibatch size (the last minibatch of an epoch may be smaller)
    - update_rule: name of a function in optim.py: 'sgd', 'sgd_momentum', 'rmsprop' or 'adam'
    - optim_config: dict of hyper-parameters for the update rule, e.g. {'learning_rate': 0.1}
    - seed: seed of the minibatch order
    - verbose: print one line per epoch (loss, training and validation accuracy)

    Returns:
    - history: dict with lists of one float per epoch: 'loss' (mean minibatch loss of the
      epoch), 'train_acc' and 'val_acc' (after the epoch)
    """
    raise NotImplementedError("a1.training: implement train")
