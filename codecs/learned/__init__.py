"""Learned deep-JSCC networks (DeepJSCC, ADJSCC-style) and their checkpoints.

The codec plugin that uses them is :mod:`testbed.codecs.learned_jscc`.
"""
