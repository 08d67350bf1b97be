"""Learned deep-JSCC networks (DeepJSCC, ADJSCC-style; SwinJSCC/WITT with its parts in ``swin/``) and checkpoints.

The codec plugins that use them are :mod:`testbed.codecs.learned_jscc` and :mod:`testbed.codecs.swinjscc`.
"""
