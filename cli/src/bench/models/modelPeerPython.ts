/**
 * numpy's side of the model benches, sent to the shared Python peer process (pythonPeer.ts) with
 * its "define" op. Ops (JSON line in, JSON line out; times taken here, around the compute only):
 *   {"op": "gemm_load", "dir": d, "aShape", "bShape", "transposeB"} → reads d/a.f32, d/b.f32 (b stored [.., n, k] when transposed)
 *   {"op": "gemm_run"}                                         → {"ms", "cpuMs"} of a @ b (b viewed transposed: numpy passes the strides to BLAS)
 *   {"op": "gpt2_load", "dir": d, "manifest": [...], "layers", "heads", "eps"} → reads every weight d/<i>.f32
 *   {"op": "gpt2_run", "ids": [...], "path": p}                → {"ms", "cpuMs"}; writes the last position's logits to p
 *   {"op": "vit_load", "dir": d, "manifest": [...], "layers", "heads", "eps", "patch"} → reads the ViT's weights
 *   {"op": "vit_run", "path": p}  (pixels in d/pixels.f32, shape in the manifest) → {"ms", "cpuMs"}; writes the logits to p
 * The GPT-2 forward is Hugging Face's GPT2LMHeadModel in float32 numpy: pre-norm blocks, causal
 * softmax attention, gelu_new, final norm, LM head tied to wte (a product with wte transposed).
 */
export const MODEL_PEER_PYTHON = String.raw`
MODEL = {}
GEMM = {}

def _timed(f):
    c0 = time.process_time()
    t0 = time.perf_counter()
    out = f()
    return out, {"ms": (time.perf_counter() - t0) * 1000, "cpuMs": (time.process_time() - c0) * 1000}

def gemm_load(msg):
    GEMM["a"] = np.fromfile(os.path.join(msg["dir"], "a.f32"), dtype=np.float32).reshape(msg["aShape"])
    b = np.fromfile(os.path.join(msg["dir"], "b.f32"), dtype=np.float32).reshape(msg["bShape"])
    GEMM["b"] = np.swapaxes(b, -1, -2) if msg["transposeB"] else b
    return {"ok": True}

def gemm_run(msg):
    a, b = GEMM["a"], GEMM["b"]
    _, t = _timed(lambda: a @ b)
    return t

def _ln(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    d = x - mu
    var = (d * d).mean(-1, keepdims=True)
    return d / np.sqrt(var + np.float32(eps)) * g + b

def _gelu_new(x):
    return np.float32(0.5) * x * (np.float32(1) + np.tanh(np.float32(0.7978845608028654) * (x + np.float32(0.044715) * x * x * x)))

def gpt2_load(msg):
    MODEL.clear()
    for i, p in enumerate(msg["manifest"]):
        MODEL[p["name"]] = np.fromfile(os.path.join(msg["dir"], "%d.f32" % i), dtype=np.float32).reshape(p["shape"])
    MODEL["_layers"], MODEL["_heads"], MODEL["_eps"] = msg["layers"], msg["heads"], msg["eps"]
    return {"ok": True}

def _gpt2_forward(ids):
    W, H, eps = MODEL, MODEL["_heads"], MODEL["_eps"]
    T = len(ids)
    x = W["transformer.wte.weight"][ids] + W["transformer.wpe.weight"][:T]
    d = x.shape[-1]
    hd = d // H
    mask = np.triu(np.full((T, T), -np.inf, dtype=np.float32), 1)
    for l in range(MODEL["_layers"]):
        p = "transformer.h.%d." % l
        h = _ln(x, W[p + "ln_1.weight"], W[p + "ln_1.bias"], eps)
        qkv = h @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
        q, k, v = (qkv[:, i * d:(i + 1) * d].reshape(T, H, hd).transpose(1, 0, 2) for i in range(3))
        s = q @ k.transpose(0, 2, 1)
        s *= np.float32(1 / np.sqrt(hd))
        s += mask
        s -= s.max(-1, keepdims=True)
        np.exp(s, out=s)
        s /= s.sum(-1, keepdims=True)
        o = (s @ v).transpose(1, 0, 2).reshape(T, d)
        x = x + (o @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"])
        h = _ln(x, W[p + "ln_2.weight"], W[p + "ln_2.bias"], eps)
        h = _gelu_new(h @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"])
        x = x + (h @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"])
    x = _ln(x, W["transformer.ln_f.weight"], W["transformer.ln_f.bias"], eps)
    return x @ W["transformer.wte.weight"].T

def gpt2_run(msg):
    logits, t = _timed(lambda: _gpt2_forward(np.asarray(msg["ids"], dtype=np.int64)))
    np.ascontiguousarray(logits[-1], dtype=np.float32).tofile(msg["path"])
    return t

def vit_load(msg):
    gpt2_load(msg)
    MODEL["_patch"] = msg["patch"]
    MODEL["_pixels"] = np.fromfile(os.path.join(msg["dir"], "pixels.f32"), dtype=np.float32).reshape(msg["pixels"])
    return {"ok": True}

def _vit_forward():
    # ViTForImageClassification: exact (erf) GELU, which numpy lacks: scipy's
    from scipy.special import erf
    W, H, eps, p, x = MODEL, MODEL["_heads"], MODEL["_eps"], MODEL["_patch"], MODEL["_pixels"]
    B, C, S, _ = x.shape
    g = S // p
    patches = x.reshape(B, C, g, p, g, p).transpose(0, 2, 4, 1, 3, 5).reshape(B, g * g, C * p * p)
    e = patches @ W["vit.embeddings.patch_embeddings.projection.weight"] + W["vit.embeddings.patch_embeddings.projection.bias"]
    cls = np.broadcast_to(W["vit.embeddings.cls_token"], (B, 1, e.shape[-1]))
    h = np.concatenate([cls, e], 1) + W["vit.embeddings.position_embeddings"]
    T, d = h.shape[1], h.shape[2]
    hd = d // H
    for l in range(MODEL["_layers"]):
        q_ = "vit.encoder.layer.%d." % l
        a = _ln(h, W[q_ + "layernorm_before.weight"], W[q_ + "layernorm_before.bias"], eps)
        q, k, v = ((a @ W[q_ + "attention.attention.%s.weight" % n] + W[q_ + "attention.attention.%s.bias" % n]).reshape(B, T, H, hd).transpose(0, 2, 1, 3) for n in ("query", "key", "value"))
        s = q @ k.transpose(0, 1, 3, 2)
        s *= np.float32(1 / np.sqrt(hd))
        s -= s.max(-1, keepdims=True)
        np.exp(s, out=s)
        s /= s.sum(-1, keepdims=True)
        o = (s @ v).transpose(0, 2, 1, 3).reshape(B, T, d)
        h = h + (o @ W[q_ + "attention.output.dense.weight"] + W[q_ + "attention.output.dense.bias"])
        a = _ln(h, W[q_ + "layernorm_after.weight"], W[q_ + "layernorm_after.bias"], eps)
        a = a @ W[q_ + "intermediate.dense.weight"] + W[q_ + "intermediate.dense.bias"]
        a = np.float32(0.5) * a * (np.float32(1) + erf(a * np.float32(0.7071067811865476)).astype(np.float32))
        h = h + (a @ W[q_ + "output.dense.weight"] + W[q_ + "output.dense.bias"])
    c = _ln(h[:, 0], W["vit.layernorm.weight"], W["vit.layernorm.bias"], eps)
    return c @ W["classifier.weight"] + W["classifier.bias"]

def vit_run(msg):
    logits, t = _timed(_vit_forward)
    np.ascontiguousarray(logits, dtype=np.float32).tofile(msg["path"])
    return t

EXTRA_OPS.update({"gemm_load": gemm_load, "gemm_run": gemm_run, "gpt2_load": gpt2_load, "gpt2_run": gpt2_run, "vit_load": vit_load, "vit_run": vit_run})
`;
