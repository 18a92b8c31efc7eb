"""A3 one-to-many recurrent network (task a3.captioner) and its training (task
a3.captioner_training): a digit image in, its English name out, one character at a time —
image captioning as CS231n's CaptioningRNN does it, on scikit-learn's 8x8 digits."""
import numpy as np

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import model_utils, rnn_layers
except ImportError:
    import model_utils, rnn_layers  # noqa: E401 - the flat twin of the import above


class DigitCaptioner:
    """features - affine - h0; <START> + caption - word embedding - recurrent layer from h0 -
    temporal affine - masked temporal softmax loss.

    The image's features (N, D) become the recurrent layer's initial hidden state
    h0 = features @ W_proj + b_proj (N, H); for the LSTM the initial cell state is zero. The
    decoder reads the caption shifted by one: at step t its input is the token t of the caption
    and its target token t + 1, so from <START> it learns to spell the name and then <END>.
    self.params holds
    - 'W_proj': (D, H), 'b_proj': (H,)
    - 'W_embed': (V, W)
    - the recurrent layer's 'Wx': (W, gH), 'Wh': (H, gH), 'b': (gH,) (for the GRU 'bx' and
      'bh' instead of 'b'), with g = 1, 4 or 3 gates (model_utils.init_cell)
    - 'W_vocab': (H, V), 'b_vocab': (V,)
    where D = input_dim, W = wordvec_dim, H = hidden_dim and V = len(vocab).
    """

    def __init__(self, vocab, input_dim=64, wordvec_dim=16, hidden_dim=32, cell_type="rnn",
                 *, dtype=np.float64, seed=None):
        """Initialise the parameters.

        With rng = np.random.default_rng(seed): W_proj ~ N(0, 1 / input_dim), W_embed ~
        N(0, 1), the recurrent layer's weights by model_utils.init_cell(cell_type, wordvec_dim,
        hidden_dim, rng), W_vocab ~ N(0, 1 / hidden_dim); every bias zero; all of dtype
        `dtype`.

        Inputs:
        - vocab: dict token -> index of V tokens, among them '<NULL>', '<START>' and '<END>'
          (e.g. digit_names.VOCAB)
        - input_dim: D, the size of an image's features
        - wordvec_dim: W, the size of a token's embedding
        - hidden_dim: H, the size of the hidden state
        - cell_type: 'rnn', 'lstm' or 'gru'
        - dtype: dtype of the parameters, the computation and the gradients
        - seed: seeds the initialisation
        """
        if cell_type not in model_utils.GATES:
            raise ValueError(f"cell_type {cell_type!r}; expected 'rnn', 'lstm' or 'gru'")
        self.vocab, self.cell_type, self.dtype = dict(vocab), cell_type, dtype
        self._null, self._start, self._end = (vocab[t] for t in ("<NULL>", "<START>", "<END>"))
        V, rng = len(vocab), np.random.default_rng(seed)
        params = {"W_proj": rng.standard_normal((input_dim, hidden_dim)) / np.sqrt(input_dim),
                  "b_proj": np.zeros(hidden_dim),
                  "W_embed": rng.standard_normal((V, wordvec_dim))}
        params.update(model_utils.init_cell(cell_type, wordvec_dim, hidden_dim, rng))
        params["W_vocab"] = rng.standard_normal((hidden_dim, V)) / np.sqrt(hidden_dim)
        params["b_vocab"] = np.zeros(V)
        self.params = {name: value.astype(dtype) for name, value in params.items()}

    def set_params(self, params):
        """Replace self.params by copies of the given arrays (the grader loads known weights).

        Inputs:
        - params: dict with the same keys and shapes as self.params
        """
        self.params = {name: np.array(value, dtype=self.dtype) for name, value in params.items()}

    def _initial_state(self, features):
        """h0 = features @ W_proj + b_proj, as the recurrent layer's state (LSTM: (h0, 0))."""
        h0 = np.asarray(features, dtype=self.dtype) @ self.params["W_proj"] + self.params["b_proj"]
        return (h0, np.zeros_like(h0)) if self.cell_type == "lstm" else h0

    def loss(self, features, captions):
        """The loss of the captions given the images, and its gradients (teacher forcing).

        With captions_in = captions[:, :-1] (the decoder's inputs) and captions_out =
        captions[:, 1:] (what it should predict at each step), the loss is
        rnn_layers.temporal_softmax_loss of the scores of every step against captions_out,
        with mask = captions_out != vocab['<NULL>']: padding costs nothing. Use the recurrent
        layer through model_utils.cell_forward / cell_backward; the gradient of the initial
        state flows back into W_proj and b_proj (for the LSTM, that of h0; c0 = 0 is fixed).

        Inputs:
        - features: (N, D) image features
        - captions: (N, T + 1) token indices, each row <START>, the name's tokens, <END>,
          then <NULL>s (digit_names.encode)

        Returns (loss, grads):
        - loss: Python float
        - grads: dict with the keys of self.params, each gradient of the shape and dtype of
          its parameter
        """
        p, cell = self.params, self.cell_type
        features = np.asarray(features, dtype=self.dtype)
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        mask = captions_out != self._null
        x, embed_cache = rnn_layers.word_embedding_forward(captions_in, p["W_embed"])
        h, _, cell_cache = model_utils.cell_forward(cell, x, self._initial_state(features), p)
        scores, vocab_cache = rnn_layers.temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
        loss, dscores = rnn_layers.temporal_softmax_loss(scores, captions_out, mask)

        grads = {}
        dh, grads["W_vocab"], grads["b_vocab"] = rnn_layers.temporal_affine_backward(
            dscores, vocab_cache)
        dx, dstate, cell_grads = model_utils.cell_backward(dh, cell_cache)
        grads.update(cell_grads)
        grads["W_embed"] = rnn_layers.word_embedding_backward(dx, embed_cache)
        dh0 = dstate[0] if cell == "lstm" else dstate
        grads["W_proj"], grads["b_proj"] = features.T @ dh0, dh0.sum(axis=0)
        return float(loss), {name: grads[name].astype(self.dtype) for name in p}

    def sample(self, features, max_length=8):
        """Greedy captions of the images: from h0 and the input <START>, each step's most
        likely token (argmax of its scores) is the next step's input.

        Inputs:
        - features: (N, D) image features
        - max_length: the number of steps taken

        Returns:
        - captions: (N, max_length) integer token indices, the token chosen at each step
          (without the <START>); once a row has chosen <END>, its later entries are
          vocab['<NULL>']
        """
        p, cell = self.params, self.cell_type
        state = self._initial_state(features)
        N = len(features)
        tokens = np.full(N, self._start)
        captions = np.full((N, max_length), self._null)
        ended = np.zeros(N, dtype=bool)
        for t in range(max_length):
            x, _ = rnn_layers.word_embedding_forward(tokens[:, None], p["W_embed"])
            h, state, _ = model_utils.cell_forward(cell, x, state, p)
            scores, _ = rnn_layers.temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
            tokens = scores[:, 0].argmax(axis=1)
            captions[:, t] = np.where(ended, self._null, tokens)
            ended |= tokens == self._end
        return captions


def train_captioner(model, features, captions, *, epochs=1, batch_size=50, learning_rate=1e-2,
                    max_norm=5.0, seed=0, on_step=None):
    """Train model.params in place by model_utils.train; return the losses.

    Each epoch visits the training set once in a random order (rng =
    np.random.default_rng(seed), one rng.permutation(N) per epoch) in minibatches of
    batch_size (the last one of an epoch may be smaller): the batches model_utils.train gets
    are the (features[batch], captions[batch]) pairs, in that order, over all the epochs.

    Inputs:
    - model: a DigitCaptioner (anything with .params and .loss(features, captions))
    - features: (N, D) image features; captions: (N, T + 1) their captions
    - epochs: the number of passes over the data
    - batch_size: the size of a minibatch
    - learning_rate: Adam's learning rate
    - max_norm: the gradients' largest global norm
    - seed: seeds the minibatch order
    - on_step: None or a function of (step, loss), called after every step

    Returns:
    - losses: list of Python floats, the loss of each minibatch
    """
    rng = np.random.default_rng(seed)

    def batches():
        for _ in range(epochs):
            order = rng.permutation(len(features))
            for start in range(0, len(order), batch_size):
                batch = order[start:start + batch_size]
                yield features[batch], captions[batch]

    return model_utils.train(model, batches(), learning_rate, max_norm, on_step)
