"""Writes 2 ^ (bits - 1) for the power, but ^ is bitwise XOR in Python."""

FEEDBACK_MENTIONS = "xor"


def qrange(bits, signed=True):
    if bits != int(bits) or not 2 <= bits <= 16:
        raise ValueError(f"bits must be an integer in [2, 16], got {bits}")
    bits = int(bits)
    if signed:
        return -(2 ^ (bits - 1)), 2 ^ (bits - 1) - 1
    return 0, 2 ^ bits - 1
