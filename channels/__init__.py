"""Channel plugins (installed as ``testbed.channels``) on Sionna blocks: AWGN, Rayleigh flat fading,
and OFDM over TDL / exponential multipath with pilots, channel estimation and LMMSE equalisation.

Each is a :class:`~testbed.core.channel.Channel`: batched symbols ``[..., K]``, one state per row."""
