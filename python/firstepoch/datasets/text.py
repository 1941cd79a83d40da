"""Text for language models: the shipped public-domain text (Shakespeare's sonnets, data/text/NOTICE.md),
a character tokenizer, a byte-level BPE one (Hugging Face `tokenizers`, optional), and the split of a
token stream into training and held-out parts."""
import json
import os

import numpy as np

SONNETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "text", "sonnets.txt")
NAMES = {"sonnets": SONNETS}


def load_text(name_or_path):
    """The text of a shipped name ('sonnets') or of a UTF-8 file; ValueError for an empty one."""
    path = NAMES.get(name_or_path, name_or_path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text:
        raise ValueError(f"{path} is empty")
    return text


class CharTokenizer:
    """One token per distinct character of the training text, in sorted order."""
    kind = "char"

    def __init__(self, chars):
        self.chars = "".join(chars)
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        self.vocab_size = len(self.chars)

    @classmethod
    def train(cls, text, vocab_size=None):
        return cls(sorted(set(text)))

    def encode(self, text):
        missing = sorted(set(text) - set(self.stoi))
        if missing:
            raise ValueError(f"characters not in the tokenizer's vocabulary: {''.join(missing)!r}")
        return np.array([self.stoi[c] for c in text], dtype=np.int64)

    def decode(self, ids):
        return "".join(self.chars[int(i)] for i in ids)

    def to_json(self):
        return json.dumps({"kind": "char", "chars": self.chars})


class BPETokenizer:
    """Byte-level BPE (GPT-2's scheme) trained on the text by Hugging Face `tokenizers`
    (pip install tokenizers); any text encodes, byte by byte when nothing longer matches."""
    kind = "bpe"

    def __init__(self, tokenizer):
        self.tok = tokenizer
        self.vocab_size = tokenizer.get_vocab_size()

    @classmethod
    def train(cls, text, vocab_size=512):
        try:
            from tokenizers import ByteLevelBPETokenizer
        except ImportError:
            raise ImportError("the bpe tokenizer needs Hugging Face `tokenizers`: pip install tokenizers") from None
        tok = ByteLevelBPETokenizer()
        tok.train_from_iterator([text], vocab_size=vocab_size, min_frequency=2, show_progress=False)
        return cls(tok._tokenizer)

    def encode(self, text):
        return np.array(self.tok.encode(text).ids, dtype=np.int64)

    def decode(self, ids):
        return self.tok.decode([int(i) for i in ids])

    def to_json(self):
        return json.dumps({"kind": "bpe", "tokenizer": self.tok.to_str()})


TOKENIZERS = {"char": CharTokenizer, "bpe": BPETokenizer}


def tokenizer_from_json(text):
    """The tokenizer a checkpoint saved with to_json()."""
    d = json.loads(text)
    if d.get("kind") == "char":
        return CharTokenizer(d["chars"])
    if d.get("kind") == "bpe":
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise ImportError("this checkpoint's bpe tokenizer needs Hugging Face `tokenizers`: "
                              "pip install tokenizers") from None
        return BPETokenizer(Tokenizer.from_str(d["tokenizer"]))
    raise ValueError(f"unknown tokenizer kind {d.get('kind')!r}")


def split_tokens(ids, held_out=0.1):
    """(train, held-out): the last `held_out` fraction of the stream is held out (contiguous, so no
    sequence straddles the two)."""
    cut = int(len(ids) * (1 - held_out))
    return ids[:cut], ids[cut:]
