"""The reference SeSS backend (SAM + RAM + OpenCLIP) with small real architectures and seeded random
weights: mask tokens aligned with their masks, the graph-building rules on constructed inputs, the
RAM state-dict layout, missing weights, and whole runs (deterministic, provenance)."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent.parent))

from reference_models import TINY_SAM_SETTINGS, TOKEN_DIM, tiny_models, tiny_ram, tiny_ram_config, tiny_sam  # noqa: E402

from testbed.metrics.sess import SceneGraph, SeSSParams  # noqa: E402
from testbed.metrics.sess.backends.base import make_backend  # noqa: E402
from testbed.metrics.sess.backends.clip_embeddings import ClipEmbedder  # noqa: E402
from testbed.metrics.sess.backends.reference import ReferenceBackend  # noqa: E402
from testbed.metrics.sess.backends.predicates import PSG_PREDICATES  # noqa: E402
from testbed.metrics.sess.backends.relation_head import (RelationHead, load_ram_state, load_relation_head,  # noqa: E402
                                                released_key_shapes)
from testbed.metrics.sess.backends.sam_masks import (MaskSet, TokenMaskGenerator, multimask_tokens, sam_settings,  # noqa: E402
                                            select_masks, working_image)
from testbed.metrics.sess.backends.triplets import kept_count, ranked_triplets, triplet_graph  # noqa: E402
from testbed.core.images import tensor_to_rgb8  # noqa: E402
from testbed.testing import tiny_image  # noqa: E402
from testbed.core.weights import MissingWeightsError  # noqa: E402

FILTERED = {**TINY_SAM_SETTINGS, "pred_iou_thresh": 0.001, "stability_score_thresh": 0.1}


def photo(name="astronaut", side=128):
    return (tiny_image(max_side=side, name=name).pixels.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def sam():
    return tiny_sam(0)


# ---------------------------------------------------------------- step 1: masks and their tokens
@pytest.mark.parametrize("crop_layers", [0, 1])
def test_generator_equals_the_stock_one(sam, crop_layers):
    from segment_anything import SamAutomaticMaskGenerator

    settings = sam_settings({**FILTERED, "crop_n_layers": crop_layers, "crop_nms_thresh": 1.0})
    image = photo()
    ours = TokenMaskGenerator(sam, **settings)._generate_masks(image)
    stock = SamAutomaticMaskGenerator(sam, **settings)._generate_masks(image)
    assert len(stock["rles"]) > 10 and ours["rles"] == stock["rles"]
    for key in ("iou_preds", "points", "stability_score", "boxes", "crop_boxes"):
        assert np.array_equal(ours[key], stock[key]), key
    assert ours["tokens"].shape == (len(ours["rles"]), TOKEN_DIM)


def test_tokens_are_the_decoder_tokens_of_their_masks(sam):
    """Each kept mask (after IoU, stability, NMS reordering) re-predicted from its point alone: of the
    three multimask outputs, the one equal to the mask has the token the generator attached."""
    generator = TokenMaskGenerator(sam, **sam_settings(FILTERED))
    image = photo()
    found = generator.masks_with_tokens(image)
    assert len(found) > 10 and len(set(found.points[:, 0] * 1000 + found.points[:, 1])) > 5
    predictor = generator.predictor
    predictor.set_image(image)
    decoder = sam.mask_decoder
    for i in range(len(found)):
        captured = []
        hook = decoder.transformer.register_forward_hook(lambda _m, _i, out: captured.append(out[0]))
        with torch.no_grad():
            point = predictor.transform.apply_coords(found.points[i:i + 1], image.shape[:2])
            logits, _, _ = predictor.predict_torch(torch.as_tensor(point)[:, None].float(),
                                                   torch.ones(1, 1, dtype=torch.int), multimask_output=True,
                                                   return_logits=True)
        hook.remove()
        masks = (logits[0] > sam.mask_threshold).numpy()
        ious = [(m & found.masks[i]).sum() / max((m | found.masks[i]).sum(), 1) for m in masks]
        k = int(np.argmax(ious))
        assert ious[k] > 0.99
        np.testing.assert_allclose(found.tokens[i], multimask_tokens(captured[0], 4)[0, k].numpy(), atol=1e-4)


def test_multimask_tokens_are_the_hypernetwork_inputs(sam):
    """The rows taken from the transformer output are what the decoder turns into masks 1..3."""
    generator = TokenMaskGenerator(sam, **sam_settings(FILTERED))
    predictor = generator.predictor
    predictor.set_image(photo())
    decoder = sam.mask_decoder
    seen, handles = {}, [decoder.transformer.register_forward_hook(lambda _m, _i, out: seen.update(hs=out[0]))]
    for k in range(decoder.num_mask_tokens):
        handles.append(decoder.output_hypernetworks_mlps[k].register_forward_hook(
            lambda _m, args, _o, k=k: seen.update({k: args[0]})))
    with torch.no_grad():
        predictor.predict_torch(torch.tensor([[[30.0, 40.0]], [[90.0, 20.0]]]), torch.ones(2, 1, dtype=torch.int))
    for h in handles:
        h.remove()
    tokens = multimask_tokens(seen["hs"], decoder.num_mask_tokens)
    for k in (1, 2, 3):
        assert torch.equal(tokens[:, k - 1], seen[k])


def brute_force_selection(masks, threshold, limit):
    kept = []
    for i in sorted(range(len(masks)), key=lambda i: -masks[i].sum()):
        if masks[i].sum() == 0 or len(kept) == limit:
            continue
        if all((masks[i] & masks[j]).sum() / (masks[i] | masks[j]).sum() <= threshold for j in kept):
            kept.append(i)
    return kept


def test_mask_selection_sorts_deduplicates_and_caps():
    masks = np.zeros((6, 10, 10), bool)
    masks[0, :5, :5] = True        # 25 px
    masks[1, :10, :10] = True      # 100 px, largest
    masks[2, :5, :4] = True        # 20 px: IoU 0.8 with mask 0: kept (the rule is IoU > 0.8)
    masks[3, :5, :5] = True        # duplicate of mask 0 (same area: the earlier one wins)
    masks[3, 0, 0] = False         # 24 px, IoU 0.96 with mask 0
    masks[5, 8:, 8:] = True        # 4 px; mask 4 is empty
    assert select_masks(masks, 0.8, 512).tolist() == [1, 0, 2, 5]
    assert select_masks(masks, 0.8, 2).tolist() == [1, 0]
    assert select_masks(masks, 0.79, 512).tolist() == [1, 0, 5]
    assert select_masks(masks[:0], 0.8, 512).tolist() == []
    rng = np.random.default_rng(0)
    for _ in range(20):
        blobs = np.zeros((30, 12, 14), bool)
        for b in blobs:
            r, c = rng.integers(0, 10, 2)
            b[r:r + rng.integers(1, 8), c:c + rng.integers(1, 9)] = True
        blobs[rng.integers(0, 30, 3)] = blobs[rng.integers(0, 30, 3)]
        threshold, limit = rng.uniform(0.3, 0.9), int(rng.integers(1, 30))
        assert select_masks(blobs, threshold, limit).tolist() == brute_force_selection(blobs, threshold, limit)


def test_working_image_is_the_released_thumbnail():
    wide = np.random.default_rng(0).integers(0, 256, (50, 130, 3), dtype=np.uint8)
    small = working_image(wide, 80)
    expected = Image.fromarray(wide)
    expected.thumbnail((80, 80 * 50 / 130))
    # thumbnail floors the height bound (30.8 -> 30 px) and keeps the aspect: 78 px wide, not 80
    assert small.shape == (30, 78, 3) and np.array_equal(small, np.asarray(expected))
    assert working_image(wide, 130) is wide


# ---------------------------------------------------------------- step 3: triplets -> graph
def test_ranking_skips_self_pairs_and_breaks_ties_by_index():
    probs = np.zeros((2, 3, 3), np.float32)
    probs[:, [0, 1, 2], [0, 1, 2]] = 1.0  # self pairs never count
    probs[1, 0, 2] = probs[0, 2, 1] = 0.5
    probs[0, 1, 0] = 0.9
    triplets, scores = ranked_triplets(probs, 4)
    assert triplets.tolist() == [[1, 0, 0], [2, 1, 0], [0, 2, 1], [0, 1, 0]]
    assert scores[:3].tolist() == [np.float32(0.9), 0.5, 0.5] and scores[3] == 0.0
    assert len(ranked_triplets(probs, 100)[0]) == 2 * 3 * 2


@pytest.mark.parametrize("passing, documented, released", [(0, 3, 3), (1, 4, 3), (2, 5, 4), (7, 10, 9)])
def test_triplet_cut_documented_and_released(passing, documented, released):
    params = SeSSParams(min_triplets=3, triplet_threshold=0.05)
    scores = np.array([0.9, 0.01, 0.01] + [0.06] * passing + [0.049, 0.5])[:10]
    assert kept_count(scores, params) == documented
    assert kept_count(scores, params, released_cut=True) == released
    assert kept_count(scores[:2], params) == 2  # fewer candidates than the minimum


def test_triplet_graph_nodes_and_most_probable_predicate_per_pair():
    n = 5
    probs = np.full((4, n, n), 0.001, np.float32)
    probs[2, 3, 1], probs[0, 3, 1] = 0.8, 0.6   # pair (3, 1): predicate 2 wins
    probs[1, 1, 3] = 0.7                        # the reverse pair is its own edge
    probs[3, 0, 3] = 0.3
    probs[1, 4, 0] = 0.04                       # below the threshold, beyond the minimum
    params = SeSSParams(min_triplets=2, triplet_threshold=0.05, candidate_triplets=10)
    built = triplet_graph(probs, params)
    assert built.triplets.tolist() == [[3, 1, 2], [1, 3, 1], [3, 1, 0], [0, 3, 3]]
    assert built.nodes.tolist() == [0, 1, 3]  # mask 2 and 4 are in no kept triplet
    edges = {(s, o): (p, score) for (s, o, p), score in zip(built.edges.tolist(), built.scores)}
    assert edges == {(2, 1): (2, pytest.approx(0.8)), (1, 2): (1, pytest.approx(0.7)), (0, 2): (3, pytest.approx(0.3))}
    released = triplet_graph(probs, params, released_cut=True)
    assert len(released.triplets) == 3 and released.nodes.tolist() == [1, 3]
    few = triplet_graph(probs, params.replace(candidate_triplets=1, min_triplets=1))
    assert few.edges.tolist() == [[1, 0, 2]]


# ---------------------------------------------------------------- step 2: the RAM head
def test_released_state_dict_layout():
    shapes = released_key_shapes()
    assert len(shapes) == 52
    expected = {"fc_input.0.weight": (768, 256), "fc_input.1.bias": (768,), "fc_output.0.weight": (768, 768),
                "model.embeddings.position_ids": (1, 512), "model.embeddings.word_embeddings.weight": (30522, 768),
                "model.embeddings.position_embeddings.weight": (512, 768),
                "model.embeddings.token_type_embeddings.weight": (2, 768),
                "model.encoder.layer.1.attention.self.query.weight": (768, 768),
                "model.encoder.layer.1.attention.output.LayerNorm.weight": (768,),
                "model.encoder.layer.0.intermediate.dense.weight": (3072, 768),
                "model.encoder.layer.0.output.dense.weight": (768, 3072), "model.pooler.dense.bias": (768,),
                "cls_sub.weight": (56 * 512, 768), "cls_obj.bias": (56 * 512,)}
    assert {k: shapes[k] for k in expected} == expected
    assert not any("layer.2" in k for k in shapes)


def synthetic_released_state(seed=1):
    g = torch.Generator().manual_seed(seed)
    head = RelationHead(tiny_ram_config())
    return {k: (torch.randn(v.shape, generator=g) if v.is_floating_point() else v.clone())
            for k, v in head.state_dict().items()}


def test_state_dict_loads_strictly_in_every_saved_form(tmp_path):
    state = synthetic_released_state()
    torch.save(state, tmp_path / "ram.pth")
    from_file = load_relation_head(str(tmp_path / "ram.pth"), tiny_ram_config())
    tokens = torch.randn(4, TOKEN_DIM, generator=torch.Generator().manual_seed(0))
    reference = load_ram_state(RelationHead(tiny_ram_config()), dict(state)).probabilities(tokens)
    assert torch.equal(from_file.probabilities(tokens), reference) and not from_file.training
    newer = {k: v for k, v in state.items() if k != "model.embeddings.position_ids"}  # transformers >= 4.31
    wrapped = {"module." + k: v for k, v in state.items()}  # DataParallel
    for variant in (newer, wrapped, {"state_dict": state}):
        head = load_ram_state(RelationHead(tiny_ram_config()), variant)
        assert torch.equal(head.probabilities(tokens), reference)
    with pytest.raises(RuntimeError, match="cls_extra"):
        load_ram_state(RelationHead(tiny_ram_config()), {**state, "cls_extra.weight": torch.zeros(1)})
    with pytest.raises(RuntimeError, match="cls_sub.weight"):
        load_ram_state(RelationHead(tiny_ram_config()), {k: v for k, v in state.items() if k != "cls_sub.weight"})


def test_head_equals_ram_with_a_hugging_face_bert():
    """RAM runs transformers' BertModel on inputs_embeds with position_ids = 1: same numbers."""
    transformers = pytest.importorskip("transformers")
    c = tiny_ram_config()
    bert = transformers.BertModel(transformers.BertConfig(
        vocab_size=c.vocab_size, hidden_size=c.hidden, num_hidden_layers=c.layers, num_attention_heads=c.heads,
        intermediate_size=c.intermediate, max_position_embeddings=c.max_positions)).eval()
    state = synthetic_released_state()
    head = load_ram_state(RelationHead(c), state)
    missing, unexpected = bert.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("model.")},
                                               strict=False)
    assert not missing and set(unexpected) <= {"embeddings.position_ids"}
    tokens = torch.randn(1, 6, c.input_dim, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        x = head.fc_input(tokens)
        hidden = bert(inputs_embeds=x, attention_mask=torch.ones(1, 6), position_ids=torch.ones(1, 6, dtype=torch.long))
        torch.testing.assert_close(head.model(x), hidden["last_hidden_state"], atol=1e-5, rtol=1e-5)


def test_probabilities_are_deterministic_with_empty_diagonal():
    head = tiny_ram().train()  # dropout would not matter: there is none, and eval mode is forced
    tokens = torch.randn(5, TOKEN_DIM, generator=torch.Generator().manual_seed(0))
    probs = head.probabilities(tokens)
    assert probs.shape == (56, 5, 5) and head.training
    assert torch.equal(probs, head.probabilities(tokens))
    assert torch.all(probs[:, range(5), range(5)] == 0) and float(probs.max()) < 1
    assert len(PSG_PREDICATES) == 56 and PSG_PREDICATES[-1] == "leaning on"


# ---------------------------------------------------------------- weights
def test_clip_embedder_from_a_weights_file(tmp_path, monkeypatch):
    """The real-weights path (create_model_and_transforms with a file) on a tiny registered config."""
    import open_clip

    config = {"embed_dim": 16, "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16,
                                              "patch_size": 16},
              "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}
    monkeypatch.setitem(open_clip.factory._MODEL_CONFIGS, "sess-test-tiny", config)
    torch.manual_seed(0)
    model = open_clip.create_model("sess-test-tiny")
    torch.save(model.state_dict(), tmp_path / "open_clip_pytorch_model.bin")
    embedder = ClipEmbedder.from_file(str(tmp_path / "open_clip_pytorch_model.bin"), "sess-test-tiny")
    assert torch.equal(embedder.model.logit_scale, model.logit_scale)
    picture = Image.fromarray(photo(side=48))
    vectors = embedder.images([picture, picture.crop((0, 0, 20, 30))])
    assert vectors.shape == (2, 16) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-6)
    assert embedder.texts(["on", "beside", "on"]).shape == (3, 16)


def test_missing_weights_name_the_files(tmp_path, monkeypatch):
    for var, sub in (("TESTBED_WEIGHTS", "w"), ("TORCH_HOME", "t"), ("HF_HOME", "h")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    backend = ReferenceBackend()
    assert [spec.filename for spec, _ in backend.required_weights()] == [
        "sam_vit_h_4b8939.pth", "ram_epoch12.pth", "open_clip_pytorch_model.bin"]
    with pytest.raises(MissingWeightsError) as err:
        backend.load()
    assert all(name in str(err.value) for name in ("sam_vit_h_4b8939.pth", "ram_epoch12.pth", "laion/CLIP-ViT-H-14"))
    assert backend.sam is None
    assert "sam_vit_b_01ec64.pth" in [s.filename for s, _ in ReferenceBackend(sam_model="vit_b").required_weights()]
    assert ReferenceBackend(models={"ram": tiny_ram()}).required_weights()[1][0].filename.endswith(".bin")


def test_bad_options_are_config_errors():
    from testbed.core.errors import ConfigError

    for options in ({"sam_model": "vit_x"}, {"sam_settings": {"points": 3}}, {"models": {"detr": None}},
                    {"sam_settings": {"min_mask_region_area": 10}}):
        with pytest.raises(ConfigError):
            ReferenceBackend(**options)


# ---------------------------------------------------------------- whole runs
def backend(seed=0, **options):
    params = options.pop("params", SeSSParams(max_width=100))
    return make_backend("reference", params, models=tiny_models(seed),
                        sam_settings=options.pop("sam_settings", TINY_SAM_SETTINGS), **options)


@pytest.fixture(scope="module")
def images():
    rocket = tiny_image(max_side=128, name="rocket").pixels      # 128 wide: shrunk to 100
    astronaut = tiny_image(max_side=96, name="astronaut").pixels
    return [rocket[None], astronaut[None]]


def test_end_to_end_graphs(images):
    b = backend()
    assert isinstance(b, ReferenceBackend)
    rocket, astronaut = b.graphs(images[0])[0], b.graphs(images[1])[0]
    assert rocket.image_size == working_image(tensor_to_rgb8(images[0][0]), 100).shape[:2] == (66, 99)
    assert astronaut.image_size == (96, 96)
    for graph in (rocket, astronaut):
        assert isinstance(graph, SceneGraph) and graph.num_nodes >= 2 and len(graph.edges)
        assert graph.embeddings.shape[1] == 24 and graph.global_embedding is not None
        assert graph.masks.shape[1:] == graph.image_size and graph.saliency_mass is not None
        info = graph.provenance["image"]
        assert info["masks_kept"] >= graph.num_nodes and info["edges"] == len(graph.edges)
        assert graph.provenance["weights"]["sam"]["injected"] == "Sam"
        json.dumps(graph.provenance)
    r = b.predicate_similarity()
    assert r.shape == (56, 56) and r.dtype == np.float64 and np.allclose(np.diag(r), 1.0, atol=1e-5)


def test_runs_are_deterministic(images):
    first, again = backend(), backend()
    batch = torch.cat([images[1], images[1].flip(-1)])
    a, b = first.graphs(batch), again.graphs(batch)
    assert all(x.equals(y) for x, y in zip(a, b)) and all(x.equals(y) for x, y in zip(a, first.graphs(batch)))
    assert not a[0].equals(a[1])


def test_describe_changes_with_what_changes_graphs():
    base = json.dumps(backend().describe(), sort_keys=True)
    assert json.dumps(backend().describe(), sort_keys=True) == base
    for other in (backend(seed=1), backend(released_triplet_cut=True), backend(params=SeSSParams(max_width=90)),
                  backend(sam_settings={**TINY_SAM_SETTINGS, "points_per_side": 6}),
                  backend(params=SeSSParams(max_width=100, saliency_exponent=2.0))):
        assert json.dumps(other.describe(), sort_keys=True) != base


def test_zero_and_one_mask(images, monkeypatch):
    b = backend()
    b.load()
    height, width = 96, 96

    def masks(count):
        grid = np.zeros((count, height, width), bool)
        for i in range(count):
            grid[i, 10 * i:10 * i + 20, 5:50] = True
        return MaskSet(grid, np.ones((count, TOKEN_DIM), np.float32), grid.sum(axis=(1, 2)), np.zeros((count, 2)),
                       np.ones(count, np.float32), np.ones(count, np.float32))

    def no_relations(_tokens):
        raise AssertionError("RAM must not run on fewer than two masks")

    monkeypatch.setattr(b.ram, "probabilities", no_relations)
    for count in (0, 1):
        monkeypatch.setattr(b._generator, "masks_with_tokens", lambda _image, count=count: masks(count))
        (graph,) = b.graphs(images[1])
        assert graph.num_nodes == count and len(graph.edges) == 0
        assert graph.global_embedding.shape == (24,) and graph.embeddings.shape == (count, 24)
        assert graph.importance.tolist() == [1.0] * count
