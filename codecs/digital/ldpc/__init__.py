"""5G NR LDPC: segmentation and Sionna's encoder (:mod:`.ldpc5g`), the decoding graph and the numba BP decoder.

The decoder choice is the config group ``ldpc_decoder`` (``codec.<name>.fec.decoder=fast|sionna``).
"""
