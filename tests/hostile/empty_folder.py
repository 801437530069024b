"""Nothing handed in."""

DESCRIPTION = "empty submission folder"
EXPECTED_SCORE = 0
EXPECTED_STATUS = "failed"


def build(perfect, release, folder):
    pass
