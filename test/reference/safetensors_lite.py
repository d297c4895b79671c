# Reads and writes safetensors files with a few lines of our own (no `safetensors` package), so
# the reference shares no code with the engine. F32, BF16 and F16 only, like the engine.
import json
import struct

import numpy as np
import torch

_NUMPY = {"F32": np.float32, "F16": np.float16}


def read_safetensors(path):
    """Returns (tensors: dict name -> torch tensor in the file's dtype, metadata: dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len].decode("utf-8"))
    data = raw[8 + header_len :]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        chunk = data[begin:end]
        shape = info["shape"]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(chunk, dtype=np.uint16).astype(np.uint32) << 16
            t = torch.from_numpy(bits.view(np.float32).copy()).to(torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(chunk, dtype=_NUMPY[info["dtype"]]).copy())
        tensors[name] = t.reshape(shape)
    return tensors, metadata


def _dtype_name(t):
    return {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}[t.dtype]


def _to_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, torch tensor) written in that order; metadata gets format=pt."""
    header = {"__metadata__": dict({"format": "pt"}, **(metadata or {}))}
    blobs, offset = [], 0
    for name, t in tensors:
        b = _to_bytes(t)
        header[name] = {"dtype": _dtype_name(t), "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode("utf-8"))
        for b in blobs:
            f.write(b)
    import os

    os.replace(path + ".tmp", path)
