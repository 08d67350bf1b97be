"""Small real architectures with seeded random weights for the reference-backend tests: SAM
(segment-anything's ImageEncoderViT / PromptEncoder / MaskDecoder), the RAM relation head and an
OpenCLIP CLIP, each a few MB and fast on one CPU thread."""

from __future__ import annotations

from functools import partial

import torch

#: Generator settings for random SAM weights: 8 x 8 point prompts; its quality scores are
#: meaningless, so no filter by them; its masks are scattered over the whole image (boxes of the
#: whole image), so box NMS at 1.0 (it still runs and reorders the masks by predicted IoU).
TINY_SAM_SETTINGS = {"points_per_side": 8, "pred_iou_thresh": 0.0, "stability_score_thresh": 0.0,
                     "box_nms_thresh": 1.0}
TOKEN_DIM = 64


def tiny_sam(seed: int = 0, image_size: int = 128, logit_scale: float = 30.0):
    """A ``Sam`` with a 2-block ViT encoder (32-d), 64-d prompt/decoder tokens, 128 px input."""
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    torch.manual_seed(seed)
    grid = image_size // 16
    sam = Sam(
        image_encoder=ImageEncoderViT(img_size=image_size, patch_size=16, embed_dim=32, depth=2, num_heads=2,
                                      mlp_ratio=2, out_chans=TOKEN_DIM, qkv_bias=True,
                                      norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), use_rel_pos=True,
                                      window_size=4, global_attn_indexes=(1,)),
        prompt_encoder=PromptEncoder(embed_dim=TOKEN_DIM, image_embedding_size=(grid, grid),
                                     input_image_size=(image_size, image_size), mask_in_chans=4),
        mask_decoder=MaskDecoder(num_multimask_outputs=3, transformer_dim=TOKEN_DIM, iou_head_depth=3,
                                 iou_head_hidden_dim=64,
                                 transformer=TwoWayTransformer(depth=2, embedding_dim=TOKEN_DIM, mlp_dim=128,
                                                               num_heads=4)),
        pixel_mean=[123.675, 116.28, 103.53], pixel_std=[58.395, 57.12, 57.375])
    with torch.no_grad():  # mask logits of a few units, as a trained SAM gives: stability scores vary
        for mlp in sam.mask_decoder.output_hypernetworks_mlps:
            mlp.layers[-1].weight.mul_(logit_scale)
    return sam.eval()


def tiny_ram_config():
    from testbed.metrics.sess.backends.relation_head import RelationHeadConfig

    return RelationHeadConfig(input_dim=TOKEN_DIM, hidden=32, layers=2, heads=4, intermediate=64, pair_dim=16,
                              vocab_size=40, max_positions=16)


def tiny_ram(seed: int = 0):
    """The RAM head (56 predicates) with a 32-d, 2-layer encoder."""
    from testbed.metrics.sess.backends.relation_head import RelationHead

    torch.manual_seed(seed)
    return RelationHead(tiny_ram_config()).eval()


def tiny_clip(seed: int = 0, image_size: int = 32):
    """An OpenCLIP CLIP (1-layer 32-d towers, 8 px patches, the ViT-H-14 tokenizer) in a ClipEmbedder."""
    import open_clip
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    from testbed.metrics.sess.backends.clip_embeddings import ClipEmbedder

    torch.manual_seed(seed)
    model = CLIP(embed_dim=24, vision_cfg=CLIPVisionCfg(image_size=image_size, layers=1, width=32, head_width=16,
                                                        patch_size=8),
                 text_cfg=CLIPTextCfg(context_length=77, vocab_size=49408, width=32, heads=2, layers=1))
    preprocess = open_clip.image_transform(image_size, is_train=False)
    return ClipEmbedder(model, preprocess, open_clip.get_tokenizer("ViT-H-14"), batch_size=8)


def tiny_models(seed: int = 0) -> dict:
    return {"sam": tiny_sam(seed), "ram": tiny_ram(seed), "clip": tiny_clip(seed)}
