"""Our implementation of the released SwinJSCC / WITT building blocks (state dicts as released).

:mod:`.blocks` (windows, attention, Swin block, patch (un)merging), :mod:`.modnet` (SNR / rate
ModNets), :mod:`.trunks` (encoder and decoder), :mod:`.released` (reading and naming the
authors' files); the network is :class:`testbed.codecs.learned.swinjscc_net.SwinJSCCNet`.
"""
