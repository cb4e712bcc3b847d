"""Read-side queries of the setup screens: a company's e-commerce users and emails."""
from sqlalchemy.orm import joinedload

from komet.models import Customer, CustomerUser, Email, User
from komet.pagination import paginate
from komet.tenancy import scoped

PAGE_SIZE = 25


def ecommerce_users_page(page=1):
    """The current company's buyer links with their user and customer, by customer then name."""
    query = (scoped(CustomerUser)
             .join(CustomerUser.customer).join(CustomerUser.user)
             .options(joinedload(CustomerUser.customer), joinedload(CustomerUser.user))
             .order_by(Customer.name, User.name, CustomerUser.id))
    return paginate(query, page, PAGE_SIZE)


def emails_page(page=1):
    """The current company's outgoing emails, newest first."""
    return paginate(scoped(Email).order_by(Email.id.desc()), page, PAGE_SIZE)

