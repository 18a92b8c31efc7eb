"""A3 sequence-to-sequence encoder-decoder (task a3.seq2seq) and its training (task
a3.seq2seq_training): one recurrent network reads the source, another writes the target from
the state the first one ends in — machine translation's first neural architecture (Sutskever
et al. 2014; Cho et al. 2014), here on a generated task (reversal.py)."""
import numpy as np

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import model_utils, reversal, rnn_layers
except ImportError:
    import model_utils, reversal, rnn_layers  # noqa: E401 - the flat twin of the import above

_NULL, _START, _END = reversal.NULL, reversal.START, reversal.END  # the special tokens


class Seq2Seq:
    """Encoder: word embedding - recurrent layer from the zero state, over the source; its
    last state (for the LSTM the pair (h, c)) is the decoder's initial state. Decoder: word
    embedding - recurrent layer - temporal affine - masked temporal softmax loss.

    Source and target share one vocabulary of V tokens in which index 0 is <NULL> (padding),
    1 is <START> and 2 is <END>. Encoder and decoder have their own embeddings and recurrent
    weights, of the same cell type. self.params holds
    - the encoder's 'W_embed_enc': (V, W) and recurrent 'Wx_enc': (W, gH), 'Wh_enc': (H, gH),
      'b_enc': (gH,) (for the GRU 'bx_enc' and 'bh_enc' instead of 'b_enc')
    - the decoder's 'W_embed_dec': (V, W) and 'Wx_dec', 'Wh_dec', 'b_dec' (or 'bx_dec' and
      'bh_dec') of the same shapes
    - 'W_vocab': (H, V), 'b_vocab': (V,)
    where W = wordvec_dim, H = hidden_dim and g = 1, 4 or 3 gates (model_utils.init_cell, with
    suffix '_enc' or '_dec').
    """

    def __init__(self, vocab_size, wordvec_dim=16, hidden_dim=64, cell_type="rnn", *,
                 dtype=np.float64, seed=None):
        """Initialise the parameters.

        With rng = np.random.default_rng(seed): W_embed_enc ~ N(0, 1), the encoder's
        recurrent weights by model_utils.init_cell(cell_type, wordvec_dim, hidden_dim, rng,
        suffix='_enc'), W_embed_dec ~ N(0, 1), the decoder's by init_cell(..., suffix='_dec'),
        W_vocab ~ N(0, 1 / hidden_dim); every bias zero; all of dtype `dtype`.

        Inputs:
        - vocab_size: V, the number of tokens (with <NULL> = 0, <START> = 1, <END> = 2)
        - wordvec_dim: W, the size of a token's embedding
        - hidden_dim: H, the size of the hidden state
        - cell_type: 'rnn', 'lstm' or 'gru'
        - dtype: dtype of the parameters, the computation and the gradients
        - seed: seeds the initialisation
        """
        if cell_type not in model_utils.GATES:
            raise ValueError(f"cell_type {cell_type!r}; expected 'rnn', 'lstm' or 'gru'")
        self.cell_type, self.dtype = cell_type, dtype
        rng = np.random.default_rng(seed)
        params = {}
        for part in ("_enc", "_dec"):
            params[f"W_embed{part}"] = rng.standard_normal((vocab_size, wordvec_dim))
            params.update(model_utils.init_cell(cell_type, wordvec_dim, hidden_dim, rng,
                                                suffix=part))
        params["W_vocab"] = rng.standard_normal((hidden_dim, vocab_size)) / np.sqrt(hidden_dim)
        params["b_vocab"] = np.zeros(vocab_size)
        self.params = {name: value.astype(dtype) for name, value in params.items()}

    def set_params(self, params):
        """Replace self.params by copies of the given arrays (the grader loads known weights).

        Inputs:
        - params: dict with the same keys and shapes as self.params
        """
        self.params = {name: np.array(value, dtype=self.dtype) for name, value in params.items()}

    def _encode(self, src):
        """The encoder over src from the zero state: (its last state, the caches)."""
        p, cell = self.params, self.cell_type
        x, embed_cache = rnn_layers.word_embedding_forward(src, p["W_embed_enc"])
        zero = model_utils.zero_state(cell, len(src), p["Wh_enc"].shape[0], self.dtype)
        _, last, cell_cache = model_utils.cell_forward(cell, x, zero, p, "_enc")
        return last, (embed_cache, cell_cache, x.shape[1])

    def loss(self, src, tgt):
        """The loss of the targets given the sources, and its gradients (teacher forcing).

        The encoder reads src; the decoder starts from the encoder's last state and reads
        tgt_in = <START> followed by tgt[:, :-1], predicting tgt at every step: the loss is
        rnn_layers.temporal_softmax_loss of the decoder's scores against tgt with
        mask = tgt != <NULL>. Use the recurrent layers through model_utils.cell_forward /
        cell_backward (suffixes '_enc' and '_dec'). Backward, the gradient of the decoder's
        initial state is the gradient of the encoder's last state (cell_backward's dlast, with
        a zero dh: nothing else reads the encoder's hidden states).

        Inputs:
        - src: (N, S) source token indices (reversal.py pads them with <NULL> in front)
        - tgt: (N, T) target token indices: the target's tokens, <END>, then <NULL>s

        Returns (loss, grads):
        - loss: Python float
        - grads: dict with the keys of self.params, each gradient of the shape and dtype of
          its parameter
        """
        p, cell = self.params, self.cell_type
        state, (src_cache, enc_cache, S) = self._encode(src)
        tgt_in = np.concatenate([np.full((len(tgt), 1), _START), tgt[:, :-1]], axis=1)
        x, tgt_cache = rnn_layers.word_embedding_forward(tgt_in, p["W_embed_dec"])
        h, _, dec_cache = model_utils.cell_forward(cell, x, state, p, "_dec")
        scores, vocab_cache = rnn_layers.temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
        loss, dscores = rnn_layers.temporal_softmax_loss(scores, tgt, tgt != _NULL)

        grads = {}
        dh, grads["W_vocab"], grads["b_vocab"] = rnn_layers.temporal_affine_backward(
            dscores, vocab_cache)
        dx, dstate, dec_grads = model_utils.cell_backward(dh, dec_cache)
        grads["W_embed_dec"] = rnn_layers.word_embedding_backward(dx, tgt_cache)
        N, _, H = dh.shape
        dsrc, _, enc_grads = model_utils.cell_backward(np.zeros((N, S, H), self.dtype),
                                                       enc_cache, dlast=dstate)
        grads["W_embed_enc"] = rnn_layers.word_embedding_backward(dsrc, src_cache)
        grads.update(dec_grads)
        grads.update(enc_grads)
        return float(loss), {name: grads[name].astype(self.dtype) for name in p}

    def translate(self, src, max_length):
        """Greedy translations of the sources: the decoder starts from the encoder's last state
        with the input <START>, and each step's most likely token (argmax of its scores) is the
        next step's input.

        Inputs:
        - src: (N, S) source token indices
        - max_length: the number of decoder steps taken

        Returns:
        - tgt: (N, max_length) integer token indices, the token chosen at each step; once a
          row has chosen <END> (2), its later entries are <NULL> (0)
        """
        p, cell = self.params, self.cell_type
        state, _ = self._encode(src)
        N = len(src)
        tokens = np.full(N, _START)
        tgt = np.full((N, max_length), _NULL)
        ended = np.zeros(N, dtype=bool)
        for t in range(max_length):
            x, _ = rnn_layers.word_embedding_forward(tokens[:, None], p["W_embed_dec"])
            h, state, _ = model_utils.cell_forward(cell, x, state, p, "_dec")
            scores, _ = rnn_layers.temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
            tokens = scores[:, 0].argmax(axis=1)
            tgt[:, t] = np.where(ended, _NULL, tokens)
            ended |= tokens == _END
        return tgt


def train_seq2seq(model, num_steps, *, batch_size=50, min_length=3, max_length=6,
                  learning_rate=5e-3, max_norm=5.0, seed=0, on_step=None):
    """Train model.params in place by model_utils.train on fresh reversal pairs; return the
    losses.

    The task is generated, so every step can have new data: with rng =
    np.random.default_rng(seed), step i trains on the batch
    reversal.reversal_pairs(batch_size, min_length, max_length, seed=rng) (each call draws
    from the same rng, so the batches differ and the run is reproducible). The model never
    sees a pair twice (but by chance): what it learns is to reverse, not a list of answers.

    Inputs:
    - model: a Seq2Seq (anything with .params and .loss(src, tgt))
    - num_steps: the number of minibatches (updates)
    - batch_size: the number of pairs in a minibatch
    - min_length, max_length: the lengths of the digit strings, both included
    - learning_rate: Adam's learning rate
    - max_norm: the gradients' largest global norm
    - seed: seeds the data
    - on_step: None or a function of (step, loss), called after every step

    Returns:
    - losses: list of num_steps Python floats, the loss of each minibatch
    """
    rng = np.random.default_rng(seed)
    batches = (reversal.reversal_pairs(batch_size, min_length, max_length, seed=rng)
               for _ in range(num_steps))
    return model_utils.train(model, batches, learning_rate, max_norm, on_step)
