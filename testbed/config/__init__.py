"""Configuration: the plugin catalogue (config groups -> objects) and the checks of the sweep settings.

The catalogue is the config tree itself; every object is built through :func:`catalogue.instantiate`.
"""
