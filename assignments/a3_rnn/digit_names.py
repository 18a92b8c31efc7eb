"""Given code, nothing to write here: the data of the digit captioner (captioner.py).

scikit-learn's 8x8 digits (bundled with it, nothing is downloaded), each image with a caption:
its English name spelled one character at a time. The vocabulary holds the letters of the ten
names and three special tokens, as CS231n's captioning data does:

- `<NULL>` pads a caption after its end (the loss ignores it),
- `<START>` is the first input of every caption (the decoder's "begin"),
- `<END>` follows the last character (the decoder's "stop").

So "six" is the caption <START> s i x <END>, and in a batch with "seven" it is padded to
<START> s i x <END> <NULL>.

- `NAMES`: the names of the digits 0..9; `VOCAB`: token -> index (`TOKENS[i]` is token i)
- `encode(names)`: names -> padded captions, (N, T) indices
- `decode(captions)`: indices -> strings (the characters before the first <END>)
- `load_digit_captions()`: the images as (N, 64) features in [0, 1], their labels and
  captions, split into training and validation sets
- `picture(features)`: an 8x8 image as text, for a terminal

Keep this file in the folder you hand in: the captioner's script imports it.
"""
import numpy as np

NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SPECIAL = ("<NULL>", "<START>", "<END>")
TOKENS = SPECIAL + tuple(sorted(set("".join(NAMES))))  # 3 special tokens and 15 letters
VOCAB = {token: i for i, token in enumerate(TOKENS)}
NULL, START, END = VOCAB["<NULL>"], VOCAB["<START>"], VOCAB["<END>"]
MAX_LENGTH = max(len(name) for name in NAMES) + 1  # the longest name and its <END>
TRAIN = 1500  # of the 1797 digits; the other 297 are the validation set


def encode(names, vocab=None):
    """Captions of the words in `names`: row n is <START>, the characters of names[n], <END>,
    then <NULL> up to the length of the longest, so T = 2 + the longest name's length.
    `vocab` (token -> index) defaults to VOCAB."""
    vocab = VOCAB if vocab is None else vocab
    rows = [["<START>", *name, "<END>"] for name in names]
    T = max(len(row) for row in rows)
    captions = np.full((len(rows), T), vocab["<NULL>"], dtype=np.int64)
    for n, row in enumerate(rows):
        captions[n, :len(row)] = [vocab[token] for token in row]
    return captions


def decode(captions, vocab=None):
    """The strings the rows of `captions` (N, T) spell: their letters up to the first <END>
    (<START> and <NULL> are skipped). `vocab` (token -> index) defaults to VOCAB."""
    vocab = VOCAB if vocab is None else vocab
    tokens = {index: token for token, index in vocab.items()}
    words = []
    for row in np.asarray(captions):
        letters = []
        for index in row:
            token = tokens[int(index)]
            if token == "<END>":
                break
            if token not in SPECIAL:
                letters.append(token)
        words.append("".join(letters))
    return words


def load_digit_captions():
    """The digits as X (N, 64) in [0, 1] (the pixel values / 16), their labels y (N,) and
    captions encode(NAMES[y]) (N, 7), in the order of np.random.default_rng(0).permutation
    (the split of A1 and A2): a dict with 'X_train', 'y_train', 'captions_train' (the first
    1500) and 'X_val', 'y_val', 'captions_val' (the other 297)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    X, y = digits.data[order] / 16.0, digits.target[order]
    captions = encode([NAMES[label] for label in y])
    data = {}
    for part, rows in (("train", slice(None, TRAIN)), ("val", slice(TRAIN, None))):
        data.update({f"X_{part}": X[rows], f"y_{part}": y[rows],
                     f"captions_{part}": captions[rows]})
    return data


def picture(features):
    """An image of 64 values in [0, 1] as 8 lines of text, darker pixels as denser marks."""
    marks = " .:#"
    levels = np.clip((np.asarray(features).reshape(8, 8) * len(marks)).astype(int), 0,
                     len(marks) - 1)
    return "\n".join("".join(2 * marks[v] for v in row) for row in levels)
