"""The one permission map: which staff role may do what (DESIGN.md §4)."""
import enum

from komet.models.accounts import Role


class Permission(enum.StrEnum):
    VIEW_SETUP = "view setup"
    MANAGE_MESSAGES = "manage messages"
    MANAGE_ECOMMERCE_USERS = "manage e-commerce users"
    MANAGE_INVITES = "invite link / QR, review access requests"
    VIEW_EMAILS = "view outgoing emails"
    REQUIRE_TWO_STEP = "require two-step verification for staff"


ROLE_PERMISSIONS = {
    Role.ADMIN: frozenset(Permission),
    Role.SETUP: frozenset({Permission.VIEW_SETUP, Permission.MANAGE_MESSAGES,
                           Permission.MANAGE_ECOMMERCE_USERS}),
    Role.SALES_MANAGER: frozenset({Permission.VIEW_SETUP, Permission.MANAGE_ECOMMERCE_USERS,
                                   Permission.MANAGE_INVITES}),
}


def can(role, permission):
    """True if staff with `role` (None for buyers) hold `permission`."""
    return role is not None and permission in ROLE_PERMISSIONS[Role(role)]


def roles_with(permission):
    return [role for role in Role if permission in ROLE_PERMISSIONS[role]]
