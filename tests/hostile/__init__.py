"""Hostile and broken submissions, one module per case (graded by tests/test_adversarial.py).

Each case module defines:

- ``DESCRIPTION``: one line, what the submission does;
- ``EXPECTED_SCORE``: the exact total it must get, or a ``(low, high)`` range;
- ``EXPECTED_STATUS``: "graded", "repaired" or "failed", as build/grading/<assignment>/summary.json reports it
  (a failure -> failed; sanitizer problems -> repaired; else graded);
- ``EXPECTED_FLAGS`` (optional): integrity flag kinds that must be raised;
- ``build(perfect, release, folder)``: writes the submission into ``folder``
  (submitted/<case>/quantization_distillation/, already created), usually by editing ``perfect``,
  the perfect student's notebook as plain JSON data.

A hostile submission never scores above what its own code computes correctly: a wrong quantize
behind patched asserts loses exactly the points the plain wrong quantize loses.
"""
