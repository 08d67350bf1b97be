"""The digital chain: bits, 5G NR MCS, QAM, LDPC (package ``ldpc``) and coded modulation.

Used by the separation codecs and by the link-level Monte Carlo (``testbed waterfall``).
"""
