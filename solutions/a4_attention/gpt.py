"""A4 tiny GPT: a decoder-only Transformer language model with its loss and seeded sampling (task
a4.gpt) and its training on the grammar's text (a4.gpt_training).

A GPT is a stack of encoder blocks whose self-attention is causal (position t attends to
positions <= t only), so one forward pass predicts every next token at once. Call your layers
through their modules: attention.causal_mask, transformer_layers.position_embedding_forward and
layernorm_forward, transformer_blocks.encoder_block_forward with the causal mask; training.train
(given) runs Adam. This is the reference solution; README.md is the handout.
"""
import numpy as np

try:  # inside the package (reference and local tools) or flat (the grading sandbox)
    from . import attention, training, transformer_blocks, transformer_layers
except ImportError:
    import attention, training, transformer_blocks, transformer_layers  # noqa: E401 - flat twin


class GPT:
    """A tiny decoder-only Transformer (GPT-2's layout, pre-norm):

        h      = W_tok[x] + W_pos[:T]                     (N, T, D)  token + position
        h      = causal encoder block 0, ..., depth - 1   (N, T, D)  pre-norm, causal_mask(T)
        scores = LN(h) @ W_head + b_head                  (N, T, V)

    The blocks are YOUR transformer_blocks.encoder_block_forward with block_param
    {'num_heads': num_heads, 'norm': 'pre', 'activation': activation} and mask
    attention.causal_mask(T); the position embedding is your position_embedding_forward; the
    final LN your layernorm_forward (eps 1e-5). self.params holds
    - 'W_tok': (V, D), 'W_pos': (max_len, D)
    - for each block i: 'block{i}_W_Q', ..., 'block{i}_beta2' (see training.block_params)
    - 'gamma': (D,), 'beta': (D,)
    - 'W_head': (D, V), 'b_head': (V,)
    """

    def __init__(self, vocab_size, max_len=32, dim=32, depth=2, num_heads=2, ffn_dim=64, *,
                 activation="relu", seed=None):
        """Initialise the parameters, with rng = np.random.default_rng(seed):
        - 'W_tok' and 'W_pos' ~ N(0, 0.1**2)
        - each block as training.init_block(rng, dim, ffn_dim) makes it
        - 'gamma' = 1, 'beta' = 0, 'W_head' ~ N(0, 1 / dim), 'b_head' = 0
        all float64. The order of the draws is free. Keep the settings the loss and sample
        need (max_len, depth, heads, activation) as attributes.

        Inputs:
        - vocab_size: V
        - max_len: the context window, the longest sequence the model reads
        - dim: D; depth: the number of blocks; num_heads: per block (divides dim)
        - ffn_dim: F, each block's FFN width
        - activation: the FFN's, 'relu' (default) or 'gelu' (GPT-2's, with tanh there)
        - seed: seeds the initialisation
        """
        rng = np.random.default_rng(seed)
        self.max_len, self.depth, self.num_heads = max_len, depth, num_heads
        self.activation = activation
        params = {"W_tok": 0.1 * rng.standard_normal((vocab_size, dim)),
                  "W_pos": 0.1 * rng.standard_normal((max_len, dim))}
        for i in range(depth):
            block = training.init_block(rng, dim, ffn_dim)
            params.update({f"block{i}_{k}": v for k, v in block.items()})
        params.update(gamma=np.ones(dim), beta=np.zeros(dim),
                      W_head=rng.standard_normal((dim, vocab_size)) / np.sqrt(dim),
                      b_head=np.zeros(vocab_size))
        self.params = params

    def set_params(self, params):
        """Replace self.params by float64 copies of the given arrays (the grader loads known
        weights).

        Inputs:
        - params: dict with the same keys and shapes as self.params
        """
        self.params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}

    def loss(self, x, y=None):
        """Next-token scores, or the loss and its gradients.

        Inputs:
        - x: (N, T) integer tokens, T <= max_len
        - y: (N, T) integer targets (y[:, t] is the token after x[:, t]), or None

        Returns:
        - if y is None: scores (N, T, V)
        - else (loss, grads): loss the softmax cross-entropy averaged over all N * T
          positions, a Python float; grads a dict with the keys of self.params, each the
          shape of its parameter (dW_tok[v] sums the gradients of every position that reads
          token v: np.add.at, as A3's word embedding)
        """
        p = self.params
        N, T = x.shape
        block_param = {"num_heads": self.num_heads, "norm": "pre", "activation": self.activation}
        mask = attention.causal_mask(T)
        h, pos_cache = transformer_layers.position_embedding_forward(p["W_tok"][x], p["W_pos"])
        caches = []
        for i in range(self.depth):
            h, cache = transformer_blocks.encoder_block_forward(h, training.block_params(p, i),
                                                                block_param, mask)
            caches.append(cache)
        z, ln_cache = transformer_layers.layernorm_forward(h, p["gamma"], p["beta"], {})
        scores = z @ p["W_head"] + p["b_head"]
        if y is None:
            return scores
        V = scores.shape[-1]
        loss, dscores = training.softmax_loss(scores.reshape(-1, V), y.reshape(-1))
        D = z.shape[-1]
        grads = {"W_head": z.reshape(-1, D).T @ dscores, "b_head": dscores.sum(axis=0)}
        dz = (dscores @ p["W_head"].T).reshape(N, T, D)
        dh, grads["gamma"], grads["beta"] = transformer_layers.layernorm_backward(dz, ln_cache)
        for i in reversed(range(self.depth)):
            dh, block_grads = transformer_blocks.encoder_block_backward(dh, caches[i])
            grads.update({f"block{i}_{k}": v for k, v in block_grads.items()})
        dtok, grads["W_pos"] = transformer_layers.position_embedding_backward(dh, pos_cache)
        grads["W_tok"] = np.zeros_like(p["W_tok"])
        np.add.at(grads["W_tok"], x.reshape(-1), dtok.reshape(-1, D))
        return loss, {k: grads[k] for k in p}

    def sample(self, start, length, temperature=0.0, seed=None):
        """Generate `length` tokens after the prompt `start`, one at a time.

        Step t reads the last max_len tokens so far (the prompt and what was generated),
        scores them (loss(context[None])) and turns the LAST position's scores s (V,) into
        the next token:
        - temperature == 0: greedy, np.argmax(s) (the first maximum)
        - temperature > 0: p = softmax(s / temperature) (shifted by its maximum), then
          rng.choice(V, p=p) with rng = np.random.default_rng(seed) made once before step 0,
          one call per step and no other draws.

        Inputs:
        - start: an integer token, or a sequence of them (the prompt)
        - length: number of tokens to generate
        - temperature: 0 for greedy, else the softmax temperature (> 0)
        - seed: seeds the draws when temperature > 0

        Returns:
        - tokens: (length,) int64 array of the generated tokens (the prompt not included)
        """
        rng = np.random.default_rng(seed)
        context = [int(t) for t in np.atleast_1d(start)]
        out = np.zeros(length, dtype=np.int64)
        for t in range(length):
            window = np.array(context[-self.max_len:])[None]
            s = self.loss(window)[0, -1]
            if temperature == 0:
                token = int(np.argmax(s))
            else:
                z = s / temperature
                q = np.exp(z - z.max())
                token = int(rng.choice(len(q), p=q / q.sum()))
            out[t] = token
            context.append(token)
        return out


def train_gpt(model, data, seq_len, batch_size, num_iterations, learning_rate=3e-3, seed=0,
              on_step=None):
    """Train a GPT on a token sequence by next-token prediction; return the losses.

    Iteration i draws batch_size windows at random: with rng = np.random.default_rng(seed)
    made once, starts = rng.integers(0, len(data) - seq_len, batch_size) (one call per
    iteration), inputs x[b] = data[starts[b]:starts[b] + seq_len] and targets
    y[b] = data[starts[b] + 1:starts[b] + seq_len + 1], both (batch_size, seq_len). Write them
    as a generator of (x, y) tuples and hand it to training.train(model, batches,
    learning_rate, max_norm=5.0, on_step=on_step).

    Inputs:
    - model: a GPT (anything with .params and .loss(x, y))
    - data: (L,) integer tokens, L > seq_len
    - seq_len: T <= model.max_len
    - batch_size: windows per iteration
    - num_iterations: the number of updates
    - learning_rate: Adam's learning rate
    - seed: seeds the windows
    - on_step: called as on_step(i, loss) after every iteration, or None

    Returns:
    - losses: list of num_iterations Python floats
    """
    data = np.asarray(data)
    rng = np.random.default_rng(seed)

    def batches():
        offsets = np.arange(seq_len)
        for _ in range(num_iterations):
            starts = rng.integers(0, len(data) - seq_len, batch_size)
            yield data[starts[:, None] + offsets], data[starts[:, None] + offsets + 1]

    return training.train(model, batches(), learning_rate, max_norm=5.0, on_step=on_step)
