"""Given code, nothing to write here: the long-range task of the sequence classifier, and the
measurements of the vanishing-gradient demonstration.

The task: remember the first symbol. Each sequence has T symbols; the first one is its class
(0 .. num_classes - 1) and the other T - 1 are noise, drawn uniformly from the num_noise other
symbols (num_classes .. num_classes + num_noise - 1), so that a class symbol never appears
anywhere but at the start. The label is known from step 0 on, and the classifier must carry it
through T - 1 steps of noise to its last hidden state, where the scores are read. Chance is
1 / num_classes.

`hidden_gradient_norms` measures how much of the gradient of the loss, which is computed at the
last step only, still reaches each earlier hidden state. It runs YOUR layers from rnn_layers.py
(through model_utils.py) on the weights of a SequenceClassifier.

Keep this file in the folder you hand in: the training scripts import it.
"""
import numpy as np

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import model_utils, rnn_layers
except ImportError:
    import model_utils, rnn_layers  # noqa: E401 - the flat twin of the import above


def make_sequences(n, T=50, num_classes=4, num_noise=8, seed=None):
    """n sequences of the long-range task: x[:, 0] = y, x[:, 1:] noise.

    Inputs:
    - n: the number of sequences
    - T: the length of each sequence
    - num_classes: C, the number of classes (and of class symbols, 0 .. C - 1)
    - num_noise: the number of noise symbols (C .. C + num_noise - 1); the vocabulary has
      V = C + num_noise symbols
    - seed: seeds the draw (rng = np.random.default_rng(seed))

    Returns (x, y):
    - x: (n, T) integer symbols
    - y: (n,) integer labels, uniform over 0 .. C - 1
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, num_classes, size=n)
    x = rng.integers(num_classes, num_classes + num_noise, size=(n, T))
    x[:, 0] = y
    return x, y


def accuracy(model, x, y):
    """The fraction of sequences whose largest score, model.loss(x), is their label."""
    return float(np.mean(np.argmax(model.loss(x), axis=1) == y))


def hidden_gradient_norms(params, cell_type, x, y):
    """How the gradient of the loss at the last step fades (or not) on its way back in time.

    With the weights of a SequenceClassifier, the loss L_n of sequence n is the softmax
    cross-entropy of the scores read from its last hidden state h_{T-1}. Going back one step at
    a time (model_utils.cell_backward on that step alone, carrying the gradient of the state),
    this returns, for every t, the mean over the batch of the norm of dL_n/dh_t (n-th row of
    h_t): norms[T - 1] is the gradient that the scores send, norms[0] what is left of it at
    the first step, where the label is. For the LSTM it is the gradient of h_t (its cell state
    c_t has its own).

    Inputs:
    - params: the parameters of a SequenceClassifier ('W_embed', the cell's, 'W_out', 'b_out')
    - cell_type: "rnn", "lstm" or "gru"
    - x: (N, T) integer symbols; y: (N,) integer labels

    Returns:
    - norms: (T,) floats
    """
    N, H = x.shape[0], params["Wh"].shape[0]
    embedded, _ = rnn_layers.word_embedding_forward(x, params["W_embed"])
    state = model_utils.zero_state(cell_type, N, H)
    h, _, (cell, suffix, steps) = model_utils.cell_forward(cell_type, embedded, state, params)
    scores = h[:, -1] @ params["W_out"] + params["b_out"]
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    probs[np.arange(N), y] -= 1  # dL_n/dscores_n of each sequence's own loss
    dh = probs @ params["W_out"].T
    dstate = (dh, np.zeros_like(dh)) if cell_type == "lstm" else dh
    norms = [dh]
    nothing_from_above = np.zeros((N, 1, H))
    for t in range(x.shape[1] - 1, 0, -1):  # step t sends the gradient of h_t to h_{t-1}
        _, dstate, _ = model_utils.cell_backward(nothing_from_above, (cell, suffix, steps[t:t + 1]),
                                                 dlast=dstate)
        norms.append(dstate[0] if cell_type == "lstm" else dstate)
    return np.array([np.linalg.norm(g, axis=1).mean() for g in reversed(norms)])
