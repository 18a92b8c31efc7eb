"""A3 many-to-one sequence classifier (task a3.classifier) and its training loop (task
a3.classifier_training).

SequenceClassifier runs your layers: call them through their modules, e.g.
rnn_layers.word_embedding_forward(...), and run the recurrent layer with the given
model_utils.cell_forward / cell_backward, which work for all three cells. The softmax
cross-entropy is A1's: write it here as a private helper (a name starting with "_"), or call
your rnn_layers.temporal_softmax_loss on the scores as one time step. train_classifier hands
minibatches to the given model_utils.train. Replace each `raise NotImplementedError(...)` with
your implementation, using NumPy only. See README.md; `layerlab check a3` runs the public
checks.
"""
import numpy as np

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import model_utils, rnn_layers
except ImportError:
    import model_utils, rnn_layers  # noqa: E401,F401 - the flat twin of the import above

# The starting bias of the gates that keep the state (the LSTM's forget gate, the GRU's update
# gate): sigmoid(4) = 0.982, so a cell first keeps 98 % of its state per step, a memory of
# about 1 + e^4 = 56 steps. At 0 the gate is 1/2 and the state halves at every step.
MEMORY_BIAS = 4.0


class SequenceClassifier:
    """Many-to-one: word embedding - one recurrent layer - its LAST hidden state - affine -
    softmax.

    A sequence x[n] of T word indices becomes T vectors (W_embed), the recurrent layer reads
    them from the zero state (model_utils.cell_forward) and only its last hidden state
    h[:, T - 1] (N, H) is scored: scores = h[:, T - 1] @ W_out + b_out (N, C). self.params holds
    - 'W_embed': (V, D)
    - the cell's 'Wx': (D, gH), 'Wh': (H, gH) and 'b': (gH,), for the GRU 'bx' and 'bh' (gH,)
      instead of 'b' (g = 1, 4, 3 for "rnn", "lstm", "gru"; see model_utils.init_cell)
    - 'W_out': (H, C), 'b_out': (C,)
    where V = vocab_size, D = wordvec_dim, H = hidden_dim and C = num_classes.
    """

    def __init__(self, vocab_size, num_classes, wordvec_dim=8, hidden_dim=32, cell_type="rnn",
                 *, dtype=np.float64, seed=None):
        """Initialise the parameters, with rng = np.random.default_rng(seed):
        - 'W_embed' ~ N(0, 1)
        - the cell's weights and biases as model_utils.init_cell(cell_type, D, H, rng) makes
          them (weights ~ N(0, 1 / fan-in), biases 0), except the biases of the gate that keeps
          the state, which start at MEMORY_BIAS (4.0): the LSTM's forget gate, b[H:2H] (gates
          i, f, o, g), and the GRU's update gate, bx[H:2H] + bh[H:2H] (gates r, z, n)
        - 'W_out' ~ N(0, 1 / H), 'b_out' = 0
        all of dtype `dtype`. The order of the draws is free.

        Inputs:
        - vocab_size: V, the number of symbols
        - num_classes: C, the number of classes
        - wordvec_dim: D, the size of a word vector
        - hidden_dim: H, the size of the hidden state
        - cell_type: "rnn", "lstm" or "gru"
        - dtype: dtype of the parameters and of the computation
        - seed: seeds the initialisation
        """
        raise NotImplementedError("a3.classifier: implement __init__")

    def set_params(self, params):
        """Replace self.params by copies of the given arrays (the grader loads known weights).

        Inputs:
        - params: dict with the same keys and shapes as self.params
        """
        raise NotImplementedError("a3.classifier: implement set_params")

    def loss(self, x, y=None):
        """Class scores, or the loss and its gradients.

        Only the last hidden state is scored, so the gradient enters the recurrent layer at the
        last step alone (dh[:, T - 1] = dscores @ W_out.T, zero at every other step) and
        reaches the earlier steps only through the recurrence (model_utils.cell_backward).

        Inputs:
        - x: (N, T) integer word indices, 0 <= x[n, t] < V
        - y: (N,) integer labels, 0 <= y[n] < C, or None

        Returns:
        - if y is None: scores (N, C)
        - else (loss, grads): loss is the softmax cross-entropy of the scores averaged over the
          N sequences, a Python float; grads has the keys of self.params, each gradient of the
          shape and dtype of its parameter
        """
        raise NotImplementedError("a3.classifier: implement loss")


def train_classifier(model, x, y, *, epochs=4, batch_size=32, learning_rate=5e-3, max_norm=5.0,
                     seed=0, on_step=None):
    """Train model on (x, y) with model_utils.train; return the loss of every minibatch.

    Each epoch visits the N sequences once in a new random order (rng =
    np.random.default_rng(seed), one rng.permutation(N) per epoch), in minibatches of
    batch_size (the last one of an epoch may be smaller). Write the minibatches as a generator
    of (x_batch, y_batch) tuples and hand it to model_utils.train, which does the rest: loss,
    your clip_grad_norm, Adam.

    With the defaults (4 epochs, minibatches of 32, Adam at 5e-3, clipping at 5),
    SequenceClassifier(12, 4, 8, 32, "lstm", seed=s) trained on
    long_range.make_sequences(2000, T=50, seed=s) with seed=s reaches a validation accuracy of
    at least 0.999 on fresh sequences for every s in 0..9, in about 2.5 s; the "gru" reaches
    1.0, and the "rnn" stays at chance (0.23 to 0.27).

    Inputs:
    - model: a SequenceClassifier (anything with .params and .loss(x, y))
    - x: (N, T) integer word indices; y: (N,) integer labels
    - epochs: the number of passes over the N sequences
    - batch_size: the number of sequences per minibatch
    - learning_rate: Adam's learning rate
    - max_norm: the global gradient norm clip_grad_norm allows
    - seed: seeds the order of the minibatches
    - on_step: called as on_step(i, loss) after every minibatch (a progress bar), or None

    Returns:
    - losses: list of floats, the loss of every minibatch in order (epochs * ceil(N /
      batch_size) of them)
    """
    raise NotImplementedError("a3.classifier_training: implement train_classifier")
