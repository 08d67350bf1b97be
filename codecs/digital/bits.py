"""Bytes <-> bit tensors for the digital chain (MSB first within each byte)."""

from __future__ import annotations

import numpy as np
import torch


def bytes_to_bits(data: bytes) -> torch.Tensor:
    """``bytes`` -> float32 ``[8 * len(data)]`` of 0/1, most significant bit first."""
    arr = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    return torch.from_numpy(arr.astype(np.float32))


def bits_to_bytes(bits: torch.Tensor) -> bytes:
    """float/int ``[8 * B]`` of 0/1 -> ``bytes`` of length B."""
    arr = (bits.detach().cpu().numpy() > 0.5).astype(np.uint8)
    return np.packbits(arr).tobytes()
