"""The config groups, named once (every other module imports them from here).

* Plugin groups: a sweep selects their options (``codec``, ``channel``, ``metric`` may list several
  side by side, each option's node wrapped under its own name; ``dataset`` takes one).
* Part groups: nested ``_target_`` nodes that plugin configs compose through their defaults lists
  (the source coder, the LDPC code and its decoder, the QAM modem, the SeSS backend, the ViTScore
  backbone). Each is chosen by overriding the key it fills, e.g. ``codec.jpeg_ldpc.fec.decoder=sionna``
  (:func:`testbed.config.overrides.part_overrides` turns that into Hydra's group override).
"""

#: groups whose options can be listed side by side: ``codec=[jpeg_ldpc,bpg_ldpc]``
LIST_GROUPS: tuple[str, ...] = ("codec", "channel", "metric")
#: groups of the plugins a sweep is built from
PLUGIN_GROUPS: tuple[str, ...] = (*LIST_GROUPS, "dataset")
#: presets (``experiment=paper_snr``)
PRESET_GROUP = "experiment"
#: part groups -> the key (below a plugin's node) each one fills
PART_GROUPS: dict[str, str] = {
    "source": "source",
    "fec": "fec",
    "ldpc_decoder": "fec.decoder",
    "modem": "modem",
    "sess_backend": "backend",
    "vit_backbone": "backbone",
}
#: every group `testbed list` shows
GROUPS: tuple[str, ...] = (*PLUGIN_GROUPS, PRESET_GROUP, *PART_GROUPS)
