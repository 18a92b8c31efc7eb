"""Given code, nothing to write here: the synthetic translation task of the seq2seq model
(seq2seq.py) — a string of digits in, the same digits in reverse order out ("2024" -> "4202").

Nothing is downloaded: the pairs are generated, as many as wanted, from a seed. The task has
what makes translation hard for an encoder-decoder — the whole source must be read before the
first word of the target is known, and the target's first word depends on the source's last —
and an answer that can be checked exactly.

Source and target share one vocabulary of 13 tokens: <NULL> (0), <START> (1), <END> (2) and the
digits "0".."9" (3..12).
- The source (N, S) holds each string's digits at the END of its row, after <NULL>s: an
  encoder that starts from the zero state reads the padding first, before anything it must
  remember, and its last state follows the last digit.
- The target (N, S + 1) holds the reversed digits, then <END>, then <NULL>s.

- `TOKENS`, `NULL`, `START`, `END`: the vocabulary
- `reversal_pairs(n, min_length, max_length, seed)`: n (source, target) rows
- `to_text(indices)`: rows of tokens -> strings of digits (up to the first <END>)

Keep this file in the folder you hand in: the seq2seq model's script imports it.
"""
import numpy as np

TOKENS = ("<NULL>", "<START>", "<END>", *"0123456789")
NULL, START, END = 0, 1, 2
DIGIT = 3  # the token of digit d is DIGIT + d


def reversal_pairs(n, min_length=3, max_length=8, seed=None):
    """n random strings of digits, each of a length drawn uniformly from min_length to
    max_length (both included) with rng = np.random.default_rng(seed), as (src, tgt):
    src (n, max_length) the digits after <NULL> padding, tgt (n, max_length + 1) the digits
    reversed, <END>, then <NULL> padding (int64 token indices)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_length, max_length + 1, n)
    src = np.full((n, max_length), NULL, dtype=np.int64)
    tgt = np.full((n, max_length + 1), NULL, dtype=np.int64)
    for i, length in enumerate(lengths):
        digits = DIGIT + rng.integers(0, 10, length)
        src[i, max_length - length:] = digits
        tgt[i, :length] = digits[::-1]
        tgt[i, length] = END
    return src, tgt


def to_text(indices):
    """The digits each row of tokens spells, up to its first <END> (<NULL> and <START> are
    skipped), as a list of strings."""
    texts = []
    for row in np.asarray(indices):
        digits = []
        for token in row:
            if token == END:
                break
            if token >= DIGIT:
                digits.append(str(int(token) - DIGIT))
        texts.append("".join(digits))
    return texts
