"""A3 one-to-many recurrent network (task a3.captioner) and its training (task
a3.captioner_training): a digit image in, its English name out, one character at a time.

DigitCaptioner is CS231n's CaptioningRNN on scikit-learn's 8x8 digits. Build it from your
layers in rnn_layers.py (rnn_layers.word_embedding_forward(...), ...) and run its recurrent
layer with the given model_utils.cell_forward / cell_backward, which call your step functions
for whichever cell_type the model has. train_captioner feeds minibatches to the given
model_utils.train. digit_names.py (given) holds the vocabulary and the data. Replace each
`raise NotImplementedError(...)` with your implementation, using NumPy only. See README.md;
`layerlab check a3 --task a3.captioner` runs the public checks.
"""
import numpy as np

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import model_utils, rnn_layers
except ImportError:
    import model_utils, rnn_layers  # noqa: E401,F401 - the flat twin of the import above


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
        raise NotImplementedError("a3.captioner: implement __init__")

    def set_params(self, params):
        """Replace self.params by copies of the given arrays (the grader loads known weights).

        Inputs:
        - params: dict with the same keys and shapes as self.params
        """
        raise NotImplementedError("a3.captioner: implement set_params")

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
        raise NotImplementedError("a3.captioner: implement loss")

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
        raise NotImplementedError("a3.captioner: implement sample")


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
    raise NotImplementedError("a3.captioner_training: implement train_captioner")
