"""Gives the restricted signed range (-(2^(b-1) - 1), 2^(b-1) - 1) instead of the full one."""

FEEDBACK_MENTIONS = "restricted signed range"


def qrange(bits, signed=True):
    if bits != int(bits) or not 2 <= bits <= 16:
        raise ValueError(f"bits must be an integer in [2, 16], got {bits}")
    bits = int(bits)
    if signed:
        return -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1
