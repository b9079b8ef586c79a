"""A tiny randomly initialised BERT with its own WordPiece vocabulary, for fast tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from models.taxonomy import DEFAULT_CATEGORIES

# the same weights in every process; training from them is not bit-exact across processes (float
# noise), so a test that trains needs margin (enough epochs), not a lucky seed
SEED = 0

CORPUS = [
    "you are an idiot",
    "gg wp everyone",
    "i will kill you",
    "fuck this game",
    "nice game",
    "report him he is feeding",
    "uninstall noob",
    "go back to your country",
    "well played",
    "shut up loser",
    "thanks for the heal",
    "what a stupid team",
    "haha nice one",
    "kys",
]


def build_tiny_hf_model(
    folder: Path, labels: Sequence[str] = DEFAULT_CATEGORIES, seed: int = SEED
) -> Path:
    """Save a 2-layer, 32-wide BERT classifier and a fast tokenizer to folder; the same seed
    gives the same weights in every process."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    # the vocabulary is written out, not trained: the tokenizers trainer breaks ties in a
    # per-process random order, and the same seed then gave other token ids (and another model)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = sorted({w for line in CORPUS for w in line.split()})
    chars = sorted({c for w in words for c in w})
    vocab = list(dict.fromkeys([*specials, *chars, *(f"##{c}" for c in chars), *words]))
    tokenizer = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[(t, tokenizer.token_to_id(t)) for t in ("[CLS]", "[SEP]")],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = BertForSequenceClassification(config)
    model.save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder
