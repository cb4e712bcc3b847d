from komet.models import Role
from komet.permissions import Permission, can, roles_with


def test_messages_are_managed_by_admin_and_setup_only():
    assert roles_with(Permission.MANAGE_MESSAGES) == [Role.ADMIN, Role.SETUP]


def test_ecommerce_users_are_managed_by_all_three_staff_roles():
    assert roles_with(Permission.MANAGE_ECOMMERCE_USERS) == [Role.ADMIN, Role.SETUP, Role.SALES_MANAGER]


def test_invites_are_for_admin_and_sales_manager():
    assert roles_with(Permission.MANAGE_INVITES) == [Role.ADMIN, Role.SALES_MANAGER]


def test_buyers_hold_no_permission():
    assert not any(can(None, permission) for permission in Permission)
