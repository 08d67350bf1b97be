"""5G NR LDPC: segmentation and Sionna's encoder (:mod:`.ldpc5g`), the decoding graph and the numba BP decoder.

The decoder choice is a config group (``codec/fec/decoder``).
"""
