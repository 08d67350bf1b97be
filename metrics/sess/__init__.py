"""SeSS, the Semantic Similarity Score of Fan et al. (arXiv 2406.03865): the scene graph, its
files, parameters and calibration here; the matching in ``matching/``, image -> graph in ``backends/``."""

from testbed.metrics.sess.graph import SceneGraph, SceneGraphError, unit
from testbed.metrics.sess.matching.importance import node_importance, saliency_mass
from testbed.metrics.sess.matching.score import SeSSPair, SeSSResult, graph_score, initial_similarity, sess, sess_score
from testbed.metrics.sess.params import SeSSParams, load_params
from testbed.metrics.sess.matching.saliency import spectral_residual_saliency

__all__ = ["SceneGraph", "SceneGraphError", "SeSSPair", "SeSSParams", "SeSSResult", "graph_score",
           "initial_similarity", "load_params", "node_importance", "saliency_mass", "sess", "sess_score",
           "spectral_residual_saliency", "unit"]
