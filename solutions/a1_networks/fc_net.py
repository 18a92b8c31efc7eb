"""A fully connected network of any depth built from the A1 layers, and a loop that trains it."""
import numpy as np

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import activations, layers, losses, normalization, optim
except ImportError:
    import activations, layers, losses, normalization, optim  # noqa: E401 - the flat twin of the import above


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
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg, self.dtype = reg, dtype
        self.num_layers = len(hidden_dims) + 1
        rng = np.random.default_rng(seed)
        dims = [input_dim, *hidden_dims, num_classes]
        self.params = {}
        for i in range(1, self.num_layers + 1):
            self.params[f"W{i}"] = weight_scale * rng.standard_normal((dims[i - 1], dims[i]))
            self.params[f"b{i}"] = np.zeros(dims[i])
            if normalization and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(dims[i])
                self.params[f"beta{i}"] = np.zeros(dims[i])
        self.params = {k: v.astype(dtype) for k, v in self.params.items()}
        self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
        if seed is not None:
            self.dropout_param["seed"] = seed
        # One dict per normalised layer: batchnorm keeps its running statistics in it.
        self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]

    def set_params(self, params):
        """Replace self.params by copies of the given arrays (the grader loads known weights).

        Inputs:
        - params: dict with the same keys and shapes as self.params
        """
        self.params = {k: np.array(v, dtype=self.dtype) for k, v in params.items()}

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
        mode = "test" if y is None else "train"
        self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode
        out, caches = X.astype(self.dtype), []
        for i in range(1, self.num_layers):
            out, cache = self._hidden_forward(out, i)
            caches.append(cache)
        p, L = self.params, self.num_layers
        scores, last_cache = layers.affine_forward(out, p[f"W{L}"], p[f"b{L}"])
        if y is None:
            return scores

        loss, dscores = losses.softmax_loss(scores, y)
        weights = [p[f"W{i}"] for i in range(1, L + 1)]
        loss += 0.5 * self.reg * sum(float(np.sum(W * W)) for W in weights)
        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = layers.affine_backward(dscores, last_cache)
        for i in range(L - 1, 0, -1):
            dout = self._hidden_backward(dout, caches[i - 1], i, grads)
        for i in range(1, L + 1):
            grads[f"W{i}"] += self.reg * p[f"W{i}"]
        return float(loss), grads

    def _hidden_forward(self, x, i):
        """Hidden layer i: affine - [normalization] - relu - [dropout]."""
        p = self.params
        out, affine_cache = layers.affine_forward(x, p[f"W{i}"], p[f"b{i}"])
        norm_cache = drop_cache = None
        if self.normalization:
            norm_forward = getattr(normalization, f"{self.normalization}_forward")
            out, norm_cache = norm_forward(out, p[f"gamma{i}"], p[f"beta{i}"],
                                           self.bn_params[i - 1])
        out, relu_cache = activations.relu_forward(out)
        if self.use_dropout:
            out, drop_cache = layers.dropout_forward(out, self.dropout_param)
        return out, (affine_cache, norm_cache, relu_cache, drop_cache)

    def _hidden_backward(self, dout, cache, i, grads):
        """Backward pass of hidden layer i: stores its gradients in grads, returns dx."""
        affine_cache, norm_cache, relu_cache, drop_cache = cache
        if self.use_dropout:
            dout = layers.dropout_backward(dout, drop_cache)
        dout = activations.relu_backward(dout, relu_cache)
        if self.normalization:
            norm_backward = getattr(normalization, f"{self.normalization}_backward")
            dout, grads[f"gamma{i}"], grads[f"beta{i}"] = norm_backward(dout, norm_cache)
        dx, grads[f"W{i}"], grads[f"b{i}"] = layers.affine_backward(dout, affine_cache)
        return dx


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
    rng = np.random.default_rng(seed)
    update = getattr(optim, update_rule)
    configs = {k: dict(optim_config or {}) for k in model.params}
    history = {"loss": [], "train_acc": [], "val_acc": []}
    for epoch in range(1, epochs + 1):
        order, batch_losses = rng.permutation(len(X_train)), []
        for start in range(0, len(X_train), batch_size):
            batch = order[start:start + batch_size]
            loss, grads = model.loss(X_train[batch], y_train[batch])
            for k in model.params:
                model.params[k], configs[k] = update(model.params[k], grads[k], configs[k])
            batch_losses.append(loss)
        history["loss"].append(float(np.mean(batch_losses)))
        history["train_acc"].append(_accuracy(model, X_train, y_train))
        history["val_acc"].append(_accuracy(model, X_val, y_val))
        if verbose:
            print(f"epoch {epoch}/{epochs}: loss {history['loss'][-1]:.4f}, "
                  f"train acc {history['train_acc'][-1]:.3f}, val acc {history['val_acc'][-1]:.3f}")
    return history


def _accuracy(model, X, y):
    return float(np.mean(np.argmax(model.loss(X), axis=1) == y))
