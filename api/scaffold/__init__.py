"""`python -m api.cli scaffold NAME field:kind...`: a new resource in one command."""

from api.scaffold.fields import KINDS, FieldSpecError
from api.scaffold.write import scaffold

__all__ = ["KINDS", "FieldSpecError", "scaffold"]
