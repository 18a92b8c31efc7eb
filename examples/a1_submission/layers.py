"""An example A1 submission, partly right and partly wrong, to show what a report looks like.

affine_forward is correct; affine_backward takes db from the first sample only
instead of summing over the batch, so its shape is wrong.
"""


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout[0]  # bug: should be dout.sum(axis=0)
    return dx, dw, db.reshape(1, -1)
