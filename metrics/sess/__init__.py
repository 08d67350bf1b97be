"""SeSS, the Semantic Similarity Score of Fan et al. (arXiv 2406.03865): the backend-independent core.

A backend turns an image into a :class:`SceneGraph`::

    saliency = spectral_residual_saliency(rgb)                 # [H, W] in [0, 1]
    graph = SceneGraph.build((H, W), unit(node_features), masks=masks,   # or boxes=
                             edges=[[subject, object, predicate], ...], edge_scores=probabilities,
                             saliency_map=saliency, params=params, global_embedding=unit(image_feature),
                             predicate_vocab="psg56", provenance={...})

and a metric compares the reference's graph (first) with the reconstruction's::

    score = sess_score(reference_graph, received_graph, predicate_similarity, params)   # float

``predicate_similarity`` is the ``[P, P]`` cosine matrix of the vocabulary's predicate-name text
embeddings. Every hyperparameter is a field of :class:`SeSSParams` (released values by default;
``load_params`` reads a calibrated file). ``sess`` returns the details (refined node similarities,
matches), :class:`SeSSPair` scores one pair under many parameter sets, ``calibrate`` fits
parameters to human scores, ``draw`` pictures graphs and matchings.
"""

from testbed.metrics.sess.graph import SceneGraph, SceneGraphError, unit
from testbed.metrics.sess.matching.importance import node_importance, saliency_mass
from testbed.metrics.sess.matching.score import SeSSPair, SeSSResult, graph_score, initial_similarity, sess, sess_score
from testbed.metrics.sess.params import SeSSParams, load_params
from testbed.metrics.sess.matching.saliency import spectral_residual_saliency

__all__ = ["SceneGraph", "SceneGraphError", "SeSSPair", "SeSSParams", "SeSSResult", "graph_score",
           "initial_similarity", "load_params", "node_importance", "saliency_mass", "sess", "sess_score",
           "spectral_residual_saliency", "unit"]
