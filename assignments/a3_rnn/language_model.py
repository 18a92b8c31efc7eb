"""A3 character-level language model (task a3.charlm) and its training by truncated
backpropagation through time (task a3.tbptt).

CharLM reads characters and predicts the next one: embedding -> one or two recurrent layers ->
temporal affine -> softmax. The recurrent layers run through model_utils.cell_forward and
cell_backward (given), on your step functions; the other layers are yours from rnn_layers.py,
your clipping and Adam from optim.py. Call them through their modules, e.g.
rnn_layers.word_embedding_forward(...), model_utils.cell_forward(...). Replace each
`raise NotImplementedError(...)` with your implementation, using NumPy only; private helpers
(names starting with "_", e.g. a _forward shared by loss and sample) are welcome. See
README.md; `layerlab check a3` runs the public checks.
"""
import numpy as np

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import model_utils, optim, rnn_layers
except ImportError:
    import model_utils, optim, rnn_layers  # noqa: E401,F401 - the flat twin of the import above


class CharLM:
    """embedding - num_layers recurrent layers - temporal affine - softmax, over characters.

    With V = vocab_size, D = wordvec_dim, H = hidden_dim and g = 1, 4, 3 gate blocks for the
    'rnn', 'lstm' and 'gru' cell, self.params holds
    - 'W_embed': (V, D), the vector of each character
    - layer k = 1, 2 (as many as num_layers): 'Wx<k>' (D, gH) for k = 1 and (H, gH) for k = 2
      (layer 2 reads layer 1's hidden states), 'Wh<k>' (H, gH) and the biases 'b<k>' (gH,),
      for the GRU 'bx<k>' and 'bh<k>' (gH,) instead
    - 'W_vocab': (H, V), 'b_vocab': (V,), the scores of the next character from the last
      layer's hidden state
    A state is what the recurrent layers carry from one chunk of text to the next: a list of
    num_layers entries, entry k - 1 the state of layer k: h (N, H) for the RNN and the GRU, the
    pair (h, c) of (N, H) arrays for the LSTM (as model_utils.cell_forward takes and returns it).
    """

    def __init__(self, vocab_size, wordvec_dim=16, hidden_dim=64, cell_type="rnn",
                 num_layers=1, *, dtype=np.float64, seed=None):
        """Initialise the parameters, with rng = np.random.default_rng(seed), in this order:
        W_embed ~ N(0, 1); then each layer k = 1, ..., num_layers with
        model_utils.init_cell(cell_type, input size, hidden_dim, rng, dtype, suffix=str(k))
        (Wx ~ N(0, 1 / input size), Wh ~ N(0, 1 / H), biases 0); then W_vocab ~ N(0, 1 / H)
        and b_vocab = 0. Every parameter has dtype `dtype`.

        Inputs:
        - vocab_size: V, the number of characters
        - wordvec_dim: D, the size of a character's vector
        - hidden_dim: H, the size of every recurrent layer's hidden state
        - cell_type: 'rnn', 'lstm' or 'gru'
        - num_layers: 1 or 2 recurrent layers
        - dtype: dtype of the parameters and of the computation
        - seed: seeds the initialisation
        """
        raise NotImplementedError("a3.charlm: implement __init__")

    def set_params(self, params):
        """Replace self.params by copies of the given arrays (the grader loads known weights).

        Inputs:
        - params: dict with the same keys and shapes as self.params
        """
        raise NotImplementedError("a3.charlm: implement set_params")

    def loss(self, x, y, state=None):
        """The loss of predicting y from x, its gradients, and the state after the last step.

        Inputs:
        - x: (N, T) integer indices of the input characters
        - y: (N, T) integer indices of the targets, the characters that follow:
          y[n, t] == x[n, t + 1] within a text
        - state: the state the recurrent layers start from (see the class docstring), or None
          for zeros. It is a constant: no gradient flows back into it.

        Returns (loss, grads, last_state):
        - loss: Python float, the mean over the N * T steps of -log softmax(scores)[y], i.e.
          temporal_softmax_loss with every step counted, divided by T: nats per character
        - grads: dict with the keys of self.params, each gradient of the shape of its parameter
        - last_state: the state after step T - 1, to start the next chunk from (a list like
          state, never None)
        """
        raise NotImplementedError("a3.charlm: implement loss")

    def sample(self, start, length, temperature=0.0, seed=None):
        """Generate `length` characters after the character `start`, from a zero state.

        Step 0 feeds `start`; each step t feeds the character chosen at step t - 1, carries
        the state one step on and turns its scores s (V,) into the next character:
        - temperature == 0: greedy, np.argmax(s) (the first maximum)
        - temperature > 0: p = softmax(s / temperature) (shifted by its maximum), then
          rng.choice(V, p=p) with rng = np.random.default_rng(seed) made once before step 0,
          one call per step and no other draws. A high temperature flattens p, a low one
          sharpens it toward the greedy choice.

        Inputs:
        - start: integer index of the first input character
        - length: number of characters to generate
        - temperature: 0 for greedy, else the softmax temperature (> 0)
        - seed: seeds the draws when temperature > 0

        Returns:
        - chars: (length,) int64 array of the generated indices (start not included)
        """
        raise NotImplementedError("a3.charlm: implement sample")


def train_tbptt(model, data, seq_len, batch_size, num_iterations, learning_rate=1e-2,
                max_norm=5.0, on_step=None):
    """Train model.params in place by truncated backpropagation through time; return the
    losses.

    The text data is cut into batch_size streams of S = len(data) // batch_size characters,
    stream b = data[b * S:(b + 1) * S] (the last len(data) % batch_size characters are
    unused), side by side as the rows of an (batch_size, S) array. Each pass walks them in
    C = (S - 1) // seq_len chunks: chunk k has inputs x = streams[:, k * seq_len:(k + 1) *
    seq_len] and targets y = the same columns shifted by one, streams[:, k * seq_len + 1:
    (k + 1) * seq_len + 1], both (batch_size, seq_len). Iteration i = 0, 1, ... trains on
    chunk k = i % C:
        loss, grads, state = model.loss(x, y, state)
    where state is None (zeros) when k == 0 (a pass starts, or the streams wrap round to
    their beginning) and otherwise the last_state of iteration i - 1: every row continues its
    own stream where it stopped, and its gradients stay inside the chunk. Then the gradients
    are clipped to global norm max_norm with optim.clip_grad_norm, and each parameter takes
    one optim.adam step with its own config, {'learning_rate': learning_rate} at first
    (Adam's other defaults), kept across iterations. on_step(i, loss), if given, is called
    after every iteration.

    Inputs:
    - model: a CharLM (anything with .params and .loss(x, y, state))
    - data: (L,) integer indices of the training text
    - seq_len: T, the characters per chunk that gradients flow through
    - batch_size: N, the number of parallel streams
    - num_iterations: the number of updates (more than C walks the streams again)
    - learning_rate: Adam's learning rate
    - max_norm: the gradients' largest global norm
    - on_step: None or a function of (iteration, loss)

    Returns:
    - losses: list of num_iterations Python floats, the loss of each iteration
    """
    raise NotImplementedError("a3.tbptt: implement train_tbptt")
