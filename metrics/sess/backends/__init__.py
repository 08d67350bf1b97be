"""SeSS backends: images -> scene graphs (``embedded``: offline wheels; ``reference``: the released pipeline).

Each backend is an option of the config group ``sess_backend`` (``metric.sess.backend=reference``).
"""
