"""nbgrader's cell-metadata check, validating each distinct metadata once.

nbgrader's ``CheckCellMetadata`` calls ``jsonschema.validate`` for every cell,
which checks the schema itself again each time: about half of what
``nbgrader autograde`` spends per submission here.  A cell's verdict depends
only on its type and its nbgrader metadata (the source appears only in error
messages), so a pair that passed once passes again; the rest of the check
(duplicate grade ids and the like) runs unchanged.
"""

from __future__ import annotations

import json

from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.preprocessors import CheckCellMetadata as _CheckCellMetadata


class _CachedValidator(MetadataValidator):
    _passed: set[str] = set()  # (cell type, metadata) pairs that validated, for the life of the process

    def validate_cell(self, cell) -> None:
        key = json.dumps([cell.cell_type, cell.metadata.get("nbgrader")], sort_keys=True, default=str)
        if key in self._passed:
            return
        super().validate_cell(cell)
        self._passed.add(key)


class CheckCellMetadata(_CheckCellMetadata):
    """nbgrader's CheckCellMetadata with cached per-cell validation (same verdicts)."""

    def preprocess(self, nb, resources):
        try:
            _CachedValidator().validate_nb(nb)
        except ValidationError as exc:
            self.log.error("%s", exc)
            raise ValidationError("Notebook failed to validate; the nbgrader metadata may be corrupted.") from exc
        return nb, resources
