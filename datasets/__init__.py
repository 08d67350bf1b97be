"""Dataset plugins (config group ``dataset``): image folders and the photos shipped in scikit-image.

Each is a :class:`~testbed.core.dataset.Dataset`.
"""
