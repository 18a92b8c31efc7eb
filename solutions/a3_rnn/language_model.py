"""A3 character-level language model (task a3.charlm) and its training by truncated
backpropagation through time (task a3.tbptt).

CharLM reads characters and predicts the next one: embedding -> one or two recurrent layers ->
temporal affine -> softmax. The recurrent layers run through model_utils.cell_forward and
cell_backward (given), on your step functions; the other layers are yours from rnn_layers.py,
your clipping and Adam from optim.py. Call them through their modules, e.g.
rnn_layers.word_embedding_forward(...), model_utils.cell_forward(...).
"""
import numpy as np

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import model_utils, optim, rnn_layers
except ImportError:
    import model_utils, optim, rnn_layers  # noqa: E401 - the flat twin of the import above


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
        if cell_type not in model_utils.GATES:
            raise ValueError(f"cell_type {cell_type!r}; expected 'rnn', 'lstm' or 'gru'")
        if num_layers not in (1, 2):
            raise ValueError(f"num_layers {num_layers!r}; expected 1 or 2")
        self.cell_type, self.num_layers, self.hidden_dim = cell_type, num_layers, hidden_dim
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        self.params = {"W_embed": rng.standard_normal((vocab_size, wordvec_dim)).astype(dtype)}
        for k in range(1, num_layers + 1):
            inputs = wordvec_dim if k == 1 else hidden_dim
            self.params.update(model_utils.init_cell(cell_type, inputs, hidden_dim, rng, dtype,
                                                     suffix=str(k)))
        W_vocab = rng.standard_normal((hidden_dim, vocab_size)) / np.sqrt(hidden_dim)
        self.params["W_vocab"] = W_vocab.astype(dtype)
        self.params["b_vocab"] = np.zeros(vocab_size, dtype=dtype)

    def set_params(self, params):
        """Replace self.params by copies of the given arrays (the grader loads known weights).

        Inputs:
        - params: dict with the same keys and shapes as self.params
        """
        self.params = {k: np.array(v, dtype=self.dtype) for k, v in params.items()}

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
        T = x.shape[1]
        scores, last_state, caches = self._forward(x, state)
        loss, dscores = rnn_layers.temporal_softmax_loss(scores, y, np.ones(y.shape, dtype=bool))
        embed_cache, layer_caches, vocab_cache = caches
        grads = {}
        dh, grads["W_vocab"], grads["b_vocab"] = rnn_layers.temporal_affine_backward(
            dscores / T, vocab_cache)
        for cache in reversed(layer_caches):
            dh, _, layer_grads = model_utils.cell_backward(dh, cache)
            grads.update(layer_grads)
        grads["W_embed"] = rnn_layers.word_embedding_backward(dh, embed_cache)
        grads = {k: np.asarray(g, dtype=self.dtype) for k, g in grads.items()}
        return float(loss) / T, grads, last_state

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
        rng = np.random.default_rng(seed)
        chars, state, current = np.zeros(length, dtype=np.int64), None, int(start)
        for t in range(length):
            scores, state, _ = self._forward(np.array([[current]]), state)
            s = scores[0, 0]
            if temperature == 0:
                current = int(np.argmax(s))
            else:
                z = s / temperature
                p = np.exp(z - z.max())
                current = int(rng.choice(len(p), p=p / p.sum()))
            chars[t] = current
        return chars

    def _forward(self, x, state):
        """Scores (N, T, V), the last state and the caches of the backward pass."""
        p, N = self.params, x.shape[0]
        if state is None:
            state = [model_utils.zero_state(self.cell_type, N, self.hidden_dim, self.dtype)
                     for _ in range(self.num_layers)]
        h, embed_cache = rnn_layers.word_embedding_forward(x, p["W_embed"])
        last_state, layer_caches = [], []
        for k in range(1, self.num_layers + 1):
            h, last, cache = model_utils.cell_forward(self.cell_type, h, state[k - 1], p,
                                                      suffix=str(k))
            last_state.append(last)
            layer_caches.append(cache)
        scores, vocab_cache = rnn_layers.temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
        return scores, last_state, (embed_cache, layer_caches, vocab_cache)


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
    data = np.asarray(data)
    S = len(data) // batch_size
    chunks = (S - 1) // seq_len
    if chunks < 1:
        raise ValueError(f"{len(data)} characters in {batch_size} streams leave no chunk of "
                         f"{seq_len} steps")
    streams = data[:batch_size * S].reshape(batch_size, S)
    configs, losses, state = {}, [], None
    for i in range(num_iterations):
        k = i % chunks
        if k == 0:
            state = None
        begin = k * seq_len
        x = streams[:, begin:begin + seq_len]
        y = streams[:, begin + 1:begin + seq_len + 1]
        loss, grads, state = model.loss(x, y, state)
        grads, _ = optim.clip_grad_norm(grads, max_norm)
        for name, grad in grads.items():
            config = configs.setdefault(name, {"learning_rate": learning_rate})
            model.params[name], configs[name] = optim.adam(model.params[name], grad, config)
        losses.append(float(loss))
        if on_step is not None:
            on_step(i, float(loss))
    return losses
