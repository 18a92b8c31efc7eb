"""A4 BERT-style masking of a token batch for masked-language-model training (task
a4.bert_masking). This is the reference solution; README.md is the handout.
"""
import numpy as np


def bert_mask_tokens(tokens, vocab_size, mask_token, seed, mask_prob=0.15, ignore_index=-100):
    """Choose about mask_prob of the positions for the model to predict; of the chosen ones
    about 80 % become mask_token, 10 % a random token and 10 % stay as they are. The labels
    hold the original token where a position was chosen and ignore_index everywhere else (the
    loss skips those).

    Draw exactly in this order from rng = np.random.default_rng(seed), each draw of the shape
    of tokens (the grade compares with it exactly on fixed seeds):
      1. chosen = rng.random(tokens.shape) < mask_prob
      2. u = rng.random(tokens.shape): a chosen position with u < 0.8 becomes mask_token, with
         0.8 <= u < 0.9 the random token, with u >= 0.9 stays
      3. random = rng.integers(0, vocab_size, tokens.shape): the random tokens (uniform over
         the vocabulary, so one may equal the original)
    Positions not chosen stay as they are whatever u and random say there.

    Inputs:
    - tokens: (N, T) integer token ids in 0 ... vocab_size - 1
    - vocab_size: V, the number of ordinary tokens (random tokens come from 0 ... V - 1)
    - mask_token: the [MASK] id (int)
    - seed: int, the generator's seed
    - mask_prob: the probability that a position is chosen, 0.15 if absent
    - ignore_index: the label of the positions not chosen, -100 (PyTorch's) if absent

    Returns (inputs, labels):
    - inputs: (N, T) integers, the masked tokens the model reads (tokens' dtype)
    - labels: (N, T) integers, tokens where chosen, ignore_index elsewhere (tokens' dtype)
    """
    rng = np.random.default_rng(seed)
    chosen = rng.random(tokens.shape) < mask_prob
    u = rng.random(tokens.shape)
    random = rng.integers(0, vocab_size, tokens.shape)
    inputs = np.where(chosen & (u < 0.8), mask_token, tokens)
    inputs = np.where(chosen & (u >= 0.8) & (u < 0.9), random, inputs).astype(tokens.dtype)
    return inputs, np.where(chosen, tokens, ignore_index).astype(tokens.dtype)
