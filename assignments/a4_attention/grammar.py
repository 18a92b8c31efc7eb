"""Given code, nothing to write here: the corpus of the character-level language model.

A small stochastic grammar writes sentences such as "the old cat saw a bird . tom ran on the
mat and ", one character at a time. Nothing is downloaded, and because the grammar is known,
so is the best loss any model can reach on its text: its entropy rate, in nats per character.

The grammar is a finite-state machine over words. In each state it picks a word with the
probability of the table below and moves to the word's next state; every word is followed by
a space. Seen one character at a time it is again a finite-state machine, whose state is (the
word state, the part of the current word written so far): that state follows from the text
itself, so a model that reads the whole past can know it, and the best achievable prediction
of the next character is the machine's own next-character distribution. Its entropy rate is

    H = sum over character states u of pi(u) * H(next character | u)

with pi the stationary distribution of the character-level chain (computed here exactly, by
linear algebra). A model must remember a little: what may follow "the" depends on the word
before it ("the mat" only as an object, after "saw", "on", "in" or "by"). This is A3's
grammar, copied here because each assignment stands alone; `evaluate` reads windows, as a
Transformer with a fixed context does, instead of carrying a recurrent state.

- `generate(num_chars, seed)`: num_chars characters, starting at a sentence start
- `entropy_rate()`: H in nats per character
- `source_loss(text)`: the loss of the best possible model on text that starts at a sentence
  start, the mean of -log p(character | everything before it) under the grammar itself
- `CHARS`, `encode`, `decode`: the vocabulary (index i is the character CHARS[i])
- `evaluate(model, indices)`: a language model's loss on a text, as the grade measures it

Keep this file in the folder you hand in: the GPT's script imports it.
"""
import bisect
import functools
import itertools

import numpy as np

START = "sentence"
# state: ((word, probability, next state), ...); the probabilities of a state sum to 1
GRAMMAR = {
    "sentence": (("the", 0.45, "subject det"), ("a", 0.25, "subject det"),
                 ("tom", 0.15, "subject"), ("ann", 0.15, "subject")),
    "subject det": (("big", 0.15, "subject adj"), ("red", 0.10, "subject adj"),
                    ("old", 0.10, "subject adj"), ("cat", 0.25, "subject"),
                    ("dog", 0.25, "subject"), ("bird", 0.15, "subject")),
    "subject adj": (("cat", 0.35, "subject"), ("dog", 0.35, "subject"),
                    ("bird", 0.30, "subject")),
    "subject": (("sat", 0.30, "verb"), ("ran", 0.30, "verb"), ("saw", 0.40, "object")),
    "verb": ((".", 0.40, "sentence"), ("on", 0.30, "place"), ("in", 0.20, "place"),
             ("by", 0.10, "place")),
    "object": (("the", 0.50, "object det"), ("a", 0.30, "object det"),
               ("tom", 0.10, "end"), ("ann", 0.10, "end")),
    "place": (("the", 0.60, "object det"), ("a", 0.40, "object det")),
    "object det": (("big", 0.10, "object adj"), ("red", 0.10, "object adj"),
                   ("old", 0.10, "object adj"), ("cat", 0.14, "end"), ("dog", 0.14, "end"),
                   ("bird", 0.14, "end"), ("man", 0.14, "end"), ("mat", 0.14, "end")),
    "object adj": (("cat", 0.20, "end"), ("dog", 0.20, "end"), ("bird", 0.20, "end"),
                   ("man", 0.20, "end"), ("mat", 0.20, "end")),
    "end": ((".", 0.70, "sentence"), ("and", 0.30, "sentence")),
}
_CUMULATIVE = {state: list(itertools.accumulate(p for _, p, _ in options))
               for state, options in GRAMMAR.items()}
CHARS = "".join(sorted({c for options in GRAMMAR.values() for w, _, _ in options for c in w}
                       | {" "}))
INDEX = {c: i for i, c in enumerate(CHARS)}


def encode(text):
    """The characters of text as indices into CHARS, an int64 array of shape (len(text),)."""
    return np.array([INDEX[c] for c in text], dtype=np.int64)


def decode(indices):
    """The text of a sequence of indices into CHARS."""
    return "".join(CHARS[int(i)] for i in indices)


def generate(num_chars, seed=None):
    """num_chars characters of the grammar's text, from a sentence start. Word i is drawn with
    u[i] of u = np.random.default_rng(seed).random(num_chars) (a word takes at least two
    characters, so there are enough): in its state, the first option whose cumulative
    probability exceeds u[i]. The text is cut after num_chars characters (possibly inside a
    word)."""
    uniforms = np.random.default_rng(seed).random(num_chars).tolist()
    state, words, length = START, [], 0
    for u in uniforms:
        if length >= num_chars:
            break
        options = GRAMMAR[state]
        pick = min(bisect.bisect_right(_CUMULATIVE[state], u), len(options) - 1)
        word, _, state = options[pick]
        words.append(word + " ")
        length += len(word) + 1
    return "".join(words)[:num_chars]


@functools.cache
def _machine():
    """The character-level machine: its states (word state, written prefix), and for each
    state {next character: (probability, next state index)}."""
    states = [(s, "") for s in GRAMMAR]
    index = {u: i for i, u in enumerate(states)}
    moves = []
    i = 0
    while i < len(states):
        state, prefix = states[i]
        mass = {}
        for word, p, after in GRAMMAR[state]:
            spelled = word + " "
            if spelled.startswith(prefix):
                c = spelled[len(prefix)]
                nxt = (after, "") if len(prefix) + 1 == len(spelled) else (state, prefix + c)
                if nxt not in index:
                    index[nxt] = len(states)
                    states.append(nxt)
                total, target = mass.get(c, (0.0, index[nxt]))
                mass[c] = (total + p, target)
        norm = sum(p for p, _ in mass.values())
        moves.append({c: (p / norm, target) for c, (p, target) in mass.items()})
        i += 1
    return states, moves


def _stationary(moves):
    """The stationary distribution pi of the character-level chain: pi P = pi, sum(pi) = 1."""
    n = len(moves)
    P = np.zeros((n, n))
    for i, move in enumerate(moves):
        for p, j in move.values():
            P[i, j] += p
    A = np.vstack([P.T - np.eye(n), np.ones(n)])
    rhs = np.zeros(n + 1)
    rhs[-1] = 1.0
    return np.linalg.lstsq(A, rhs, rcond=None)[0]


@functools.cache
def entropy_rate():
    """The grammar's entropy rate in nats per character: sum over the character-level states u
    of pi(u) * H(next character | u), pi the stationary distribution. No model's expected loss
    per character on long text can be lower."""
    _, moves = _machine()
    pi = _stationary(moves)
    entropies = [-sum(p * np.log(p) for p, _ in move.values()) for move in moves]
    return float(pi @ np.array(entropies))


def source_loss(text):
    """The mean over the characters of text of -log p(character | all before it) under the
    grammar, for text that starts at a sentence start (as generate's does): the loss of the
    best possible model on exactly this text. Its expected value approaches entropy_rate() as
    the text grows."""
    _, moves = _machine()
    state, total = 0, 0.0
    for c in text:
        if c not in moves[state]:
            raise ValueError(f"the grammar cannot write {c!r} here")
        p, state = moves[state][c]
        total -= np.log(p)
    return total / len(text)


def evaluate(model, indices, streams=10, seq_len=32):
    """A language model's loss on a text in nats per character, as the grade measures it: the
    text cut into `streams` rows of S = len(indices) // streams characters, side by side, each
    row's S - 1 next characters predicted in windows of at most seq_len characters, each window
    read from its own first character (a Transformer sees only its context window; nothing is
    carried from one window to the next). model is anything with .loss(x, y) -> (loss, grads),
    loss the mean over the window's characters (the GPT of gpt.py).
    """
    S = len(indices) // streams
    rows = np.asarray(indices[:streams * S]).reshape(streams, S)
    total = 0.0
    for begin in range(0, S - 1, seq_len):
        end = min(begin + seq_len, S - 1)
        loss, _ = model.loss(rows[:, begin:end], rows[:, begin + 1:end + 1])
        total += loss * (end - begin)
    return total / (S - 1)
