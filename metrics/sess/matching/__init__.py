"""The SeSS matching: node importance, initial similarity, neighbour refinement, graph score.

Backend-independent: it consumes two :class:`~testbed.metrics.sess.graph.SceneGraph`.
"""
