"""The Hydra config root: plugin groups (codec, channel, metric, dataset), presets (experiment) and parts.

The folders are the catalogue (``testbed list``); group names are defined in :mod:`testbed.config.groups`."""
