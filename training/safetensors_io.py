"""Safetensors files written and read by hand (no extra package), so the format the
exporter reads is spelled out in this repository.

A file is: an unsigned 64-bit little-endian header length N, N bytes of UTF-8 JSON, then the
raw tensor bytes. The JSON maps each tensor name to {"dtype", "shape", "data_offsets":
[begin, end]} (offsets relative to the first byte after the header) and may hold a
"__metadata__" object of string values. Tensors are little-endian and row-major (C order).
The header is padded with spaces to a multiple of 8 bytes, as the reference writer does.

training/src/weights/safetensors.ts is the TypeScript side of the same format.
"""
import json
import struct

import numpy as np

_NUMPY_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I32": np.int32, "I64": np.int64}
_DTYPE_NAMES = {np.dtype(v).str: k for k, v in _NUMPY_DTYPES.items()}


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> numpy array (any of F32, F16, F64, I32, I64). metadata: str -> str."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        little = array.astype(array.dtype.newbyteorder("<"), copy=False)
        dtype = _DTYPE_NAMES.get(little.dtype.str)
        if dtype is None:
            raise ValueError(f"{name}: dtype {array.dtype} cannot be written")
        data = little.tobytes(order="C")
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise ValueError("safetensors metadata holds strings only")
        header["__metadata__"] = dict(metadata)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    """Returns (tensors: name -> numpy array, metadata: dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(raw[8 : 8 + length].decode("utf-8"))
    base = 8 + length
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = np.dtype(_NUMPY_DTYPES[info["dtype"]]).newbyteorder("<")
        tensors[name] = np.frombuffer(raw[base + begin : base + end], dtype=dtype).reshape(info["shape"]).copy()
    return tensors, metadata
