"""NumPy transcription of KH-Compress as microsoft/thinformer's `khcompress` computes it
(float32 kernel matrices, strided pair differences, cummax thresholds, sequential walk, one
symmetrisation coin per halving round), driven by the random draws our TypeScript port makes.

Reads the JSON written by scripts/dumpParityInputs.ts and writes, per case, the expected coreset
positions; test/thinformerCoreset.test.ts checks thinformerCoreset against them.

    python3 plugins/thinformer/scripts/reference_parity.py INPUTS.json OUTPUT.json

Needs numpy only (no GPU).
"""
import json
import math
import sys

import numpy as np


def kh_compress(k, v, g, delta, draws):
    """k [b, h, nk, d], v [b, h, nk, d] float32 → positions [b, h, n_out]."""
    b, h, nk, d = k.shape
    log4n = (nk.bit_length() - 1) // 2
    n = 4 ** log4n
    stride = nk // n
    keys = k[:, :, 0:n * stride:stride] * np.float32(math.sqrt(1 / math.sqrt(d)))
    values = v[:, :, 0:n * stride:stride]
    pos = np.broadcast_to(np.arange(n) * stride, (b, h, n)).copy()
    first = 4 ** (g + 1)
    if n < first:
        return pos
    rounds = log4n - g
    p0 = delta / first / rounds / n
    shift = (keys ** 2).sum(-1).max(-1)[..., None, None, None]
    beta_sq = (np.abs(values).max(axis=(-1, -2)) ** 2)[..., None, None, None]
    size = first
    for r in range(rounds):
        kb = keys.reshape(b, h, -1, size, d)
        vb = values.reshape(b, h, -1, size, d)
        pb = pos.reshape(b, h, -1, size)
        gram_k = np.einsum('bhase,bhate->bhast', kb, kb)
        gram_v = np.einsum('bhase,bhate->bhast', vb, vb)
        kernel = (np.exp(gram_k - shift) * (gram_v + beta_sq)).astype(np.float32)
        lam = 0.5 + math.log(2 * size / (p0 * size * size))
        pairs = size // 2
        u = np.array(draws[r]['uniforms'], np.float32).reshape(b, h, -1, pairs)
        assert np.abs(u).max() <= lam
        diff = kernel[..., ::2] - kernel[..., 1::2]
        diff = diff[..., ::2, :] - diff[..., 1::2, :]
        running = diff[..., 0, :].copy()
        root = np.sqrt(np.maximum(np.diagonal(diff, axis1=-2, axis2=-1), 0))
        u = u * root * np.maximum.accumulate(root, axis=-1)
        swap = np.zeros(u.shape, bool)
        for i in range(1, pairs):
            s = u[..., i] <= running[..., i]
            swap[..., i] = s
            running = running + (1 - 2 * s[..., None]).astype(np.float32) * diff[..., i, :]
        if draws[r]['coin']:
            swap = ~swap
        keep = np.arange(0, size, 2) + swap
        keys = np.take_along_axis(kb, keep[..., None], -2).reshape(b, h, -1, d)
        values = np.take_along_axis(vb, keep[..., None], -2).reshape(b, h, -1, d)
        pos = np.take_along_axis(pb, keep, -1).reshape(b, h, -1)
        size *= 2
    return pos


def main():
    inputs = json.load(open(sys.argv[1]))
    out = []
    for c in inputs['cases']:
        shape = (c['batch'], c['heads'], c['nk'], c['d'])
        k = np.array(c['k'], np.float32).reshape(shape)
        v = np.array(c['v'], np.float32).reshape(shape)
        pos = kh_compress(k, v, c['g'], 0.5, c['draws'])
        out.append({'label': c['label'], 'indices': pos.reshape(-1).tolist()})
    json.dump({'source': 'scripts/reference_parity.py (NumPy transcription of microsoft/thinformer khcompress)', 'cases': out}, open(sys.argv[2], 'w'))


if __name__ == '__main__':
    main()
