"""SeSS backends: images -> scene graphs (``embedded``: offline wheels; ``reference``: the released pipeline).

Each backend is a config option of ``metric/sess/backend``.
"""
