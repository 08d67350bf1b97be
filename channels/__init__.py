"""Built-in channel plugins (installed as ``testbed.channels``)."""
