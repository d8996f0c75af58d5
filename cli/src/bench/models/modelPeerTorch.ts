/**
 * PyTorch's side of the GPU model benches, sent to the shared Python peer process (pythonPeer.ts)
 * with its "define" op (a namespace of its own: it imports torch and reads the weights itself). fp32 on CUDA (TF32
 * off, as the attention peer), two variants: "torch-eager" (softmax(QKᵀ)V with an explicit mask)
 * and "torch-sdpa" (F.scaled_dot_product_attention). Same weights as Swapformer, Linear weights
 * kept [in, out] as Swapformer stores them.
 *   {"op": "torch_load", "dir": d, "manifest": [...], "family": "gpt2" | "vit" | "llama", ...shape fields} → moves the weights to the GPU
 *   {"op": "torch_run", "variant": v, "ids": [...] | "pixels": [shape] (d/pixels.f32), "path": p} → {"ms"}; writes the last row of the output
 */
export const MODEL_PEER_TORCH = String.raw`
TORCH_MODEL = {}

def torch_mod():
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return torch

def torch_load(msg):
    torch = torch_mod()
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    TORCH_MODEL.clear()
    for i, p in enumerate(msg["manifest"]):
        a = np.fromfile(os.path.join(msg["dir"], "%d.f32" % i), dtype=np.float32).reshape(p["shape"])
        TORCH_MODEL[p["name"]] = torch.from_numpy(a).to(dev)
    TORCH_MODEL["_msg"] = msg
    TORCH_MODEL["_dev"] = dev
    if msg["family"] == "vit":
        px = np.fromfile(os.path.join(msg["dir"], "pixels.f32"), dtype=np.float32).reshape(msg["pixels"])
        TORCH_MODEL["_pixels"] = torch.from_numpy(px).to(dev)
    return {"ok": True, "device": dev}

def _t_attn(q, k, v, causal, variant):
    torch = torch_mod()
    F = torch.nn.functional
    if k.shape[1] != q.shape[1]:
        k = k.repeat_interleave(q.shape[1] // k.shape[1], dim=1)
        v = v.repeat_interleave(q.shape[1] // v.shape[1], dim=1)
    if variant == "torch-sdpa":
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    s = (q @ k.transpose(-1, -2)) * (1.0 / q.shape[-1] ** 0.5)
    if causal:
        T = q.shape[2]
        s = s.masked_fill(torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    return torch.softmax(s, dim=-1) @ v

def _t_heads(x, H):
    B, T, D = x.shape
    return x.reshape(B, T, H, D // H).transpose(1, 2)

def _t_merge(o):
    B, H, T, hd = o.shape
    return o.transpose(1, 2).reshape(B, T, H * hd)

def _t_gpt2(ids, variant):
    torch = torch_mod()
    F = torch.nn.functional
    W, m = TORCH_MODEL, TORCH_MODEL["_msg"]
    H, eps, d = m["heads"], m["eps"], W["transformer.wte.weight"].shape[1]
    T = ids.shape[1]
    x = W["transformer.wte.weight"][ids] + W["transformer.wpe.weight"][:T]
    for l in range(m["layers"]):
        p = "transformer.h.%d." % l
        h = F.layer_norm(x, (d,), W[p + "ln_1.weight"], W[p + "ln_1.bias"], eps)
        q, k, v = (h @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]).split(d, dim=-1)
        o = _t_merge(_t_attn(_t_heads(q, H), _t_heads(k, H), _t_heads(v, H), True, variant))
        x = x + o @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        h = F.layer_norm(x, (d,), W[p + "ln_2.weight"], W[p + "ln_2.bias"], eps)
        h = F.gelu(h @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"], approximate="tanh")
        x = x + h @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (d,), W["transformer.ln_f.weight"], W["transformer.ln_f.bias"], eps)
    return (x @ W["transformer.wte.weight"].T)[:, -1]

def _t_vit(variant):
    torch = torch_mod()
    F = torch.nn.functional
    W, m, x = TORCH_MODEL, TORCH_MODEL["_msg"], TORCH_MODEL["_pixels"]
    H, eps, p = m["heads"], m["eps"], m["patch"]
    B, C, S, _ = x.shape
    g = S // p
    patches = x.reshape(B, C, g, p, g, p).permute(0, 2, 4, 1, 3, 5).reshape(B, g * g, C * p * p)
    e = patches @ W["vit.embeddings.patch_embeddings.projection.weight"] + W["vit.embeddings.patch_embeddings.projection.bias"]
    h = torch.cat([W["vit.embeddings.cls_token"].expand(B, 1, e.shape[-1]), e], 1) + W["vit.embeddings.position_embeddings"]
    d = h.shape[-1]
    for l in range(m["layers"]):
        q_ = "vit.encoder.layer.%d." % l
        a = F.layer_norm(h, (d,), W[q_ + "layernorm_before.weight"], W[q_ + "layernorm_before.bias"], eps)
        q, k, v = (_t_heads(a @ W[q_ + "attention.attention.%s.weight" % n] + W[q_ + "attention.attention.%s.bias" % n], H) for n in ("query", "key", "value"))
        h = h + _t_merge(_t_attn(q, k, v, False, variant)) @ W[q_ + "attention.output.dense.weight"] + W[q_ + "attention.output.dense.bias"]
        a = F.layer_norm(h, (d,), W[q_ + "layernorm_after.weight"], W[q_ + "layernorm_after.bias"], eps)
        a = F.gelu(a @ W[q_ + "intermediate.dense.weight"] + W[q_ + "intermediate.dense.bias"])
        h = h + a @ W[q_ + "output.dense.weight"] + W[q_ + "output.dense.bias"]
    c = F.layer_norm(h[:, 0], (d,), W["vit.layernorm.weight"], W["vit.layernorm.bias"], eps)
    return c @ W["classifier.weight"] + W["classifier.bias"]

def _t_rope(x, theta):
    torch = torch_mod()
    T, hd = x.shape[2], x.shape[3]
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, device=x.device, dtype=torch.float32) / hd))
    f = torch.arange(T, device=x.device, dtype=torch.float32)[:, None] * inv[None]
    cos, sin = torch.cat([f, f], -1).cos(), torch.cat([f, f], -1).sin()
    rot = torch.cat([-x[..., hd // 2:], x[..., :hd // 2]], -1)
    return x * cos + rot * sin

def _t_llama(ids, variant):
    torch = torch_mod()
    F = torch.nn.functional
    W, m = TORCH_MODEL, TORCH_MODEL["_msg"]
    H, Hkv, eps, theta = m["heads"], m["kvHeads"], m["eps"], m["theta"]
    rms = lambda x, w: x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w
    x = W["embed_tokens.weight"][ids]
    for l in range(m["layers"]):
        p = "layers.%d." % l
        h = rms(x, W[p + "input_layernorm.weight"])
        q = _t_rope(_t_heads(h @ W[p + "self_attn.q_proj.weight"], H), theta)
        k = _t_rope(_t_heads(h @ W[p + "self_attn.k_proj.weight"], Hkv), theta)
        v = _t_heads(h @ W[p + "self_attn.v_proj.weight"], Hkv)
        x = x + _t_merge(_t_attn(q, k, v, True, variant)) @ W[p + "self_attn.o_proj.weight"]
        h = rms(x, W[p + "post_attention_layernorm.weight"])
        x = x + (F.silu(h @ W[p + "mlp.gate_proj.weight"]) * (h @ W[p + "mlp.up_proj.weight"])) @ W[p + "mlp.down_proj.weight"]
    return rms(x, W["norm.weight"])[:, -1]

def torch_run(msg):
    torch = torch_mod()
    fam, variant = TORCH_MODEL["_msg"]["family"], msg["variant"]
    ids = torch.tensor([msg["ids"]], device=TORCH_MODEL["_dev"]) if "ids" in msg else None
    f = (lambda: _t_vit(variant)) if fam == "vit" else (lambda: _t_gpt2(ids, variant)) if fam == "gpt2" else (lambda: _t_llama(ids, variant))
    sync = torch.cuda.synchronize if TORCH_MODEL["_dev"] == "cuda" else (lambda: None)
    with torch.no_grad():
        out = f()
        sync()
        t0 = time.perf_counter()
        out = f()
        sync()
        ms = (time.perf_counter() - t0) * 1000
    out.float().cpu().numpy().astype(np.float32).tofile(msg["path"])
    return {"ms": ms}

EXTRA_OPS.update({"torch_load": torch_load, "torch_run": torch_run})
`;
