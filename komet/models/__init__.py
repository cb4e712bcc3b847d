"""All models, importable from one place (Alembic and the app import this package)."""
from komet.models.accounts import (  # noqa: F401
    DEFAULT_TIMEZONE,
    Company,
    Customer,
    CustomerUser,
    EcommerceUser,
    LinkStatus,
    LoginSession,
    Membership,
    Role,
    User,
    normalize_email,
    normalize_username,
)
from komet.models.audit import AuditEvent  # noqa: F401
from komet.models.catalog import Product  # noqa: F401
from komet.models.imports import ImportStatus, UserImport  # noqa: F401
from komet.models.mail import Email, EmailStatus  # noqa: F401
from komet.models.messages import (  # noqa: F401
    Message,
    MessageCustomer,
    MessageCustomerRead,
    MessageImage,
    MessageRead,
    MessageStatus,
    MessageType,
)
from komet.models.invites import AccessRequest, InviteLink, RequestStatus  # noqa: F401
from komet.models.ops import Heartbeat  # noqa: F401,E402
from komet.models.two_step import RecoveryCode, TrustedDevice, TwoStep  # noqa: F401,E402
