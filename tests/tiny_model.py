"""A tiny randomly initialised BERT with its own WordPiece vocabulary, for fast tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from models.taxonomy import DEFAULT_CATEGORIES

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


def build_tiny_hf_model(folder: Path, labels: Sequence[str] = DEFAULT_CATEGORIES) -> Path:
    """Save a 2-layer, 32-wide BERT classifier and a fast tokenizer to folder."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer.train_from_iterator(
        CORPUS * 5, trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials)
    )
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
    BertForSequenceClassification(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder
