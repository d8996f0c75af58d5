import { MAX_PIPELINED_CALLS, PIPELINE_BELOW_MS, PIPELINE_WINDOW_MS } from '../contenders/forceResult';

/**
 * The Python side of the numpy and PyTorch peers, passed to `python3 -c`. It answers one JSON
 * line per request line on stdin:
 *   {"op": "info"}                                  → versions, threads, device
 *   {"op": "load", "dir": d, "shape": [1,h,n,d]}     → reads d/q.f32, d/k.f32, d/v.f32
 *   {"op": "run", "variant": "numpy" | "torch-naive" | "torch-sdpa" | "torch-bf16-flash"} → {"ms": t, "cpuMs": c}
 *   {"op": "output", "variant": v, "path": p}        → writes the last output of v as float32
 *   {"op": "define", "code": c}                      → runs c, which adds ops to EXTRA_OPS (the model bench's)
 * Times are taken here, around the computation only (numpy returns when done; CUDA work is
 * synchronized before the clock stops), so the pipe to Node is not timed. Sub-20 ms CUDA calls
 * are repeated in a loop and averaged, because one launch is shorter than the timer's noise, over
 * the same window as the tfjs-webgpu calls (forceResult.ts).
 */
export const PYTHON_PEER_SCRIPT = String.raw`
import json, os, sys, time
import numpy as np

state = {"q": None, "k": None, "v": None, "out": {}, "torch": None}
EXTRA_OPS = {}

def torch_mod():
    if state["torch"] is None:
        import torch
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        state["torch"] = torch
    return state["torch"]

def numpy_exact(q, k, v):
    s = q @ np.swapaxes(k, -1, -2)
    s *= np.float32(1.0 / np.sqrt(q.shape[-1]))
    s -= s.max(axis=-1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=-1, keepdims=True)
    return s @ v

def torch_call(variant):
    torch = torch_mod()
    F = torch.nn.functional
    q, k, v = state["tq"], state["tk"], state["tv"]
    if variant == "torch-naive":
        return lambda: torch.softmax((q @ k.transpose(-1, -2)) * (1.0 / q.shape[-1] ** 0.5), dim=-1) @ v
    if variant == "torch-sdpa":
        return lambda: F.scaled_dot_product_attention(q, k, v)
    if variant == "torch-bf16-flash":
        qb, kb, vb = q.bfloat16(), k.bfloat16(), v.bfloat16()
        from torch.nn.attention import sdpa_kernel, SDPBackend
        def f():
            with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                return F.scaled_dot_product_attention(qb, kb, vb)
        return f
    raise ValueError("unknown variant " + variant)

def run(variant):
    if variant == "numpy":
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = numpy_exact(state["q"], state["k"], state["v"])
        ms = (time.perf_counter() - t0) * 1000
        cpu_ms = (time.process_time() - c0) * 1000
        state["out"][variant] = out
        return {"ms": ms, "cpuMs": cpu_ms}
    torch = torch_mod()
    f = torch_call(variant)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = f()
    torch.cuda.synchronize()
    ms = (time.perf_counter() - t0) * 1000
    if ms < ${PIPELINE_BELOW_MS}:
        reps = max(2, min(${MAX_PIPELINED_CALLS}, int(${PIPELINE_WINDOW_MS} / max(ms, 1e-3))))
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(reps):
            out = f()
        torch.cuda.synchronize()
        ms = (time.perf_counter() - t0) * 1000 / reps
    state["out"][variant] = out
    return {"ms": ms}

def info():
    d = {"python": sys.version.split()[0], "numpy": np.__version__}
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        d[var] = os.environ.get(var)
    try:
        import numpy.__config__ as cfg
        blas = cfg.CONFIG.get("Build Dependencies", {}).get("blas", {})
        d["blas"] = "%s %s" % (blas.get("name", "?"), blas.get("version", ""))
    except Exception:
        d["blas"] = "?"
    if os.environ.get("SWAPFORMER_PEER_TORCH") == "1":
        try:
            torch = torch_mod()
            d["torch"] = torch.__version__
            d["cuda"] = torch.cuda.is_available()
            d["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
        except Exception as e:
            d["torch_error"] = str(e)
    return d

def load(msg):
    shape = msg["shape"]
    for name in ("q", "k", "v"):
        state[name] = np.fromfile(os.path.join(msg["dir"], name + ".f32"), dtype=np.float32).reshape(shape)
    state["out"] = {}
    if os.environ.get("SWAPFORMER_PEER_TORCH") == "1":
        torch = torch_mod()
        for name in ("q", "k", "v"):
            state["t" + name] = torch.from_numpy(state[name]).cuda()
        torch.cuda.synchronize()

for line in sys.stdin:
    msg = json.loads(line)
    try:
        op = msg["op"]
        if op == "info":
            reply = info()
        elif op == "load":
            load(msg)
            reply = {"ok": True}
        elif op == "run":
            reply = run(msg["variant"])
        elif op == "output":
            out = state["out"][msg["variant"]]
            if not isinstance(out, np.ndarray):
                out = out.float().cpu().numpy()
            np.ascontiguousarray(out, dtype=np.float32).tofile(msg["path"])
            reply = {"ok": True}
        elif op == "define":
            # another bench (the model tables) adds its own ops to this process: code fills EXTRA_OPS
            exec(msg["code"], {"np": np, "os": os, "time": time, "EXTRA_OPS": EXTRA_OPS})
            reply = {"ok": True}
        elif op in EXTRA_OPS:
            reply = EXTRA_OPS[op](msg)
        elif op == "quit":
            break
        else:
            reply = {"error": "unknown op " + str(op)}
    except Exception as e:
        if state["torch"] is not None:
            try:
                state["torch"].cuda.empty_cache()
            except Exception:
                pass
        reply = {"error": type(e).__name__ + ": " + str(e)[:300]}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
`;
