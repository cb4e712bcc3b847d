"""All models, importable from one place (Alembic and the app import this package)."""
from komet.models.accounts import (  # noqa: F401
    DEFAULT_TIMEZONE,
    Company,
    Customer,
    CustomerUser,
    Membership,
    Role,
    User,
    normalize_email,
)
from komet.models.catalog import Product  # noqa: F401
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
