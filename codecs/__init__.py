"""Codec plugins (installed as ``testbed.codecs``): separation, capacity bound, uncoded, learned deep-JSCC, SwinJSCC/WITT.

Their parts live in ``source/`` (source coders), ``digital/`` (LDPC, QAM), ``learned/`` (networks, checkpoints)."""
