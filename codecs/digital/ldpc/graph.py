"""The decoding graph of one rate-matched 5G NR LDPC code, read from Sionna's ``LDPC5GEncoder``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ---------------------------------------------------------------------------------- code object
@dataclass(frozen=True)
class LDPC5GCode:
    """Decoding graph of one rate-matched 5G NR LDPC code (k, n), built from Sionna's encoder.

    The lifted parity-check matrix is quasi-cyclic: base-graph entry (row block b, column block c,
    shift s) connects check ``b * z + r`` to variable ``c * z + (r + s) % z`` for r < z. The
    decoder works on that description (lanes r = 0..z-1 of a row block are independent checks).

    Attributes:
        k, n: information and rate-matched lengths.
        z: lifting size; k_ldpc: k plus filler bits; n_ldpc: mother-code length.
        num_vns: variable nodes kept after pruning (Sionna's ``n_pruned``); num_cns: checks kept.
        blk_ptr: int32 ``[num_row_blocks + 1]`` entry offsets of each row block.
        ent_col, ent_shift: int32 ``[num_entries]`` column block and shift of each entry.
        last_rows: checks in the last row block (z unless pruning cut it).
        llr_pos: int32 ``[n]`` mother-code position of each received LLR.
    """

    k: int
    n: int
    z: int
    k_ldpc: int
    n_ldpc: int
    num_vns: int
    num_cns: int
    blk_ptr: np.ndarray
    ent_col: np.ndarray
    ent_shift: np.ndarray
    last_rows: int
    llr_pos: np.ndarray

    @property
    def num_edges(self) -> int:
        """Edges of the (pruned) Tanner graph."""
        per_block = np.diff(self.blk_ptr)
        return int(per_block[:-1].sum() * self.z + per_block[-1] * self.last_rows)

    @property
    def max_row_degree(self) -> int:
        return int(np.diff(self.blk_ptr).max())

    @property
    def k_filler(self) -> int:
        return self.k_ldpc - self.k

    @classmethod
    def from_encoder(cls, encoder) -> "LDPC5GCode":
        """Graph of ``encoder`` (a Sionna ``LDPC5GEncoder``), pruned as Sionna's decoder prunes it."""
        import scipy.sparse as sp

        if encoder.num_bits_per_symbol is not None:
            raise ValueError("encoders with an output interleaver (num_bits_per_symbol) are not supported")
        k, n, z = int(encoder.k), int(encoder.n), int(encoder.z)
        k_ldpc, n_ldpc = int(encoder.k_ldpc), int(encoder.n_ldpc)
        k_filler = k_ldpc - k
        pcm = sp.csr_matrix(encoder.pcm)
        # prune the trailing degree-1 variable nodes that are not transmitted, with their checks
        # (Sionna's prune_pcm for the flooding schedule)
        vn_degree = np.asarray(pcm.sum(axis=0)).ravel()
        last_pos = n_ldpc
        for idx in range(n_ldpc - 1, 0, -1):
            if vn_degree[idx] != 1:
                break
            last_pos = idx
        not_sent = (n_ldpc - k_filler) - n - 2 * z  # mother-code bits after the transmitted ones
        if not_sent < 0:
            raise ValueError(f"n={n} exceeds the circular buffer ({n_ldpc - k_filler - 2 * z} bits); "
                             "repetition is not supported")
        num_vns = int(max(last_pos, n_ldpc - not_sent))
        num_cns = pcm.shape[0] - (n_ldpc - num_vns)
        pcm = pcm[:num_cns, :num_vns].tocsr()
        pcm.sort_indices()
        # quasi-cyclic description from the first row of each row block, checked against the pcm
        num_blocks = -(-num_cns // z)
        blk_ptr, cols, shifts = [0], [], []
        for b in range(num_blocks):
            first = pcm.indices[pcm.indptr[b * z]:pcm.indptr[b * z + 1]]
            cols.extend(first // z)
            shifts.extend(first % z)
            blk_ptr.append(len(cols))
        blk_ptr = np.asarray(blk_ptr, dtype=np.int32)
        ent_col = np.asarray(cols, dtype=np.int32)
        ent_shift = np.asarray(shifts, dtype=np.int32)
        rows, vns = [], []
        for b in range(num_blocks):
            lanes = np.arange(min(z, num_cns - b * z))
            for e in range(blk_ptr[b], blk_ptr[b + 1]):
                rows.append(b * z + lanes)
                vns.append(ent_col[e] * z + (lanes + ent_shift[e]) % z)
        rows, vns = np.concatenate(rows), np.concatenate(vns)
        if vns.max() >= num_vns or rows.size != pcm.nnz or (
            sp.csr_matrix((np.ones(rows.size), (rows, vns)), shape=pcm.shape) != pcm
        ).nnz:
            raise ValueError("parity-check matrix is not the quasi-cyclic lifting expected for 5G NR LDPC")
        sys_sent = k - 2 * z  # systematic bits transmitted before the filler block
        j = np.arange(n)
        llr_pos = np.where(j < sys_sent, 2 * z + j, 2 * z + j + k_filler).astype(np.int32)
        return cls(k=k, n=n, z=z, k_ldpc=k_ldpc, n_ldpc=n_ldpc, num_vns=num_vns, num_cns=int(num_cns),
                   blk_ptr=blk_ptr, ent_col=ent_col, ent_shift=ent_shift,
                   last_rows=int(num_cns - (num_blocks - 1) * z), llr_pos=llr_pos)
