"""grader.student.minilm against the original: sentence-transformers running all-MiniLM-L6-v2 in PyTorch.

The torch tier: needs ``torch==2.13.0`` and ``sentence-transformers``, kept out of the course's own
environment. ``make test`` leaves it out (marker ``torch``); ``make test-torch`` installs them in a venv of
its own and runs it there, where a missing package is an error, not a skip.
"""

import os

import numpy as np
import pytest

from grader.student import minilm

pytestmark = pytest.mark.torch

TOLERANCE = 1e-5  # max abs difference of embedding components; PyTorch computes in float32
EXTRA = [
    "A much longer sentence, about nothing in particular, that goes on for a while so that every "
    "other sentence of its batch is padded to its length.",
    " ".join(["word"] * 400),  # cut at 256 word pieces by both
    "Ünïcode, punctuation -- and CAPITALS!",
]


@pytest.fixture(scope="module")
def original():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is on disk; never ask a hub
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm.model_dir()), device="cpu")


def test_the_original_model_is_configured_as_minilm_assumes(original):
    assert original.max_seq_length == 256
    assert original.encode(["hello"]).shape == (1, minilm.HIDDEN)


def test_encode_matches_sentence_transformers(original):
    texts = minilm.sentences() + EXTRA
    expected = original.encode(texts, convert_to_numpy=True, batch_size=len(texts))
    got = minilm.encode(texts)
    assert np.abs(got - expected).max() < TOLERANCE
