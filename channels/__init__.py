"""Channel plugins (installed as ``testbed.channels``): AWGN and Rayleigh flat fading on Sionna blocks.

Each is a :class:`~testbed.core.channel.Channel`: batched symbols ``[..., K]``, one state per row."""
