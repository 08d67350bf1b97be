"""Core types and base classes: images, codecs, channels, metrics, datasets, errors.

Nothing here imports a plugin; plugins import from here.
"""
