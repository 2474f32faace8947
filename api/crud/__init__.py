"""The generic CRUD router factory: one declaration in, six owner-scoped endpoints out.

This package knows no resource; `api.resources` holds the declarations.
"""

from api.crud.declaration import CrudResource, DeclarationError
from api.crud.guard import CurrentOwner, OwnerGuardedRoute, guard
from api.crud.router import crud_router

__all__ = [
    "CrudResource",
    "CurrentOwner",
    "DeclarationError",
    "OwnerGuardedRoute",
    "crud_router",
    "guard",
]
