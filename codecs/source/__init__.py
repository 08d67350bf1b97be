"""Source coders: image <-> bytes (JPEG, BPG and its HEVC-intra stand-in) and rate control.

Used by the separation codecs; each is a :class:`~testbed.core.codec.SourceCodec`.
"""
