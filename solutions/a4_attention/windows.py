"""A4 Swin Transformer windows (task a4.swin): partition a feature map into non-overlapping
windows, put the windows back, and the attention mask of the shifted windows.

Feature maps are channels-last, (N, H, W, C), as in Swin's code. This is the reference solution;
README.md is the handout.
"""
import numpy as np


def window_partition(x, window_size):
    """Cut each feature map into non-overlapping window_size x window_size windows.

    Windows are ordered by sample, then window row, then window column: window
    n * (H // ws) * (W // ws) + r * (W // ws) + c holds x[n, r*ws:(r+1)*ws, c*ws:(c+1)*ws].

    Inputs:
    - x: (N, H, W, C), H and W multiples of window_size
    - window_size: ws (int)

    Returns:
    - windows: (N * (H // ws) * (W // ws), ws, ws, C)
    """
    N, H, W, C = x.shape
    ws = window_size
    return (x.reshape(N, H // ws, ws, W // ws, ws, C).transpose(0, 1, 3, 2, 4, 5)
            .reshape(-1, ws, ws, C))


def window_reverse(windows, window_size, H, W):
    """The inverse of window_partition: window_reverse(window_partition(x, ws), ws, H, W) is x.
    (It is also window_partition's backward: the gradient of a permutation is its inverse.)

    Inputs:
    - windows: (N * (H // ws) * (W // ws), ws, ws, C), in window_partition's order
    - window_size: ws (int)
    - H, W: the feature map's height and width

    Returns:
    - x: (N, H, W, C)
    """
    ws = window_size
    C = windows.shape[-1]
    return (windows.reshape(-1, H // ws, W // ws, ws, ws, C).transpose(0, 1, 3, 2, 4, 5)
            .reshape(-1, H, W, C))


def shifted_window_mask(H, W, window_size, shift_size):
    """The attention mask of shifted-window attention (Swin's SW-MSA). The feature map is first
    rolled by (-shift_size, -shift_size) (np.roll(x, (-s, -s), axis=(1, 2))), so some windows
    then hold pixels from up to four regions of the map that were not neighbours. A token may
    attend only to tokens of the same region. Along each axis the regions are, in rolled
    coordinates, [0, L - ws), [L - ws, L - s) and [L - s, L) (L = H or W); a pixel's region is
    (its row's region, its column's region), Swin's nine labels.

    Inputs:
    - H, W: the feature map's height and width (multiples of window_size)
    - window_size: ws (int)
    - shift_size: s (int, 0 <= s < ws; 0 gives a mask that is True everywhere)

    Returns:
    - mask: (nW, ws * ws, ws * ws) booleans, nW = (H // ws) * (W // ws) windows in
      window_partition's order, tokens in each window row by row; mask[w, i, j] is True when
      tokens i and j of window w are in the same region (True = may attend, as in
      scaled_dot_product_attention_forward)
    """
    ws, s = window_size, shift_size
    rows = np.searchsorted([H - ws, H - s], np.arange(H), side="right")
    cols = np.searchsorted([W - ws, W - s], np.arange(W), side="right")
    region = (3 * rows[:, None] + cols[None, :])[None, :, :, None]  # (1, H, W, 1)
    labels = window_partition(region, ws).reshape(-1, ws * ws)
    return labels[:, :, None] == labels[:, None, :]
