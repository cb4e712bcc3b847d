"""What a buyer sees of their own login: the companies they buy from."""
from dataclasses import dataclass

from sqlalchemy import select

from komet.extensions import db
from komet.models import Company, Customer, CustomerUser, EcommerceUser, LinkStatus, Membership, Role, User


@dataclass
class CompanyLink:
    company: Company
    status: LinkStatus
    username: str
    customers: list


@dataclass
class EndedAccess:
    """A seller that disabled the login: its name, and whom to write to about it (its Admins)."""
    company: Company
    contacts: list  # [(name, email)]


def login_and_company(account):
    return db.session.get(User, account.user_id), db.session.get(Company, account.company_id)


def companies_of(user):
    """Every seller company the login is linked to, by name, with its status and customers (2 queries)."""
    accounts = db.session.execute(
        select(EcommerceUser, Company).join(Company, Company.id == EcommerceUser.company_id)
        .where(EcommerceUser.user_id == user.id).order_by(Company.name)).all()
    links = {account.company_id: CompanyLink(company, account.status, account.username, [])
             for account, company in accounts}
    rows = db.session.execute(
        select(CustomerUser.company_id, Customer.name).join(Customer, Customer.id == CustomerUser.customer_id)
        .where(CustomerUser.user_id == user.id).order_by(Customer.name)).all()
    for company_id, name in rows:
        if company_id in links:
            links[company_id].customers.append(name)
    return list(links.values())


def ended_access(user):
    """The seller companies that ended this login's access (Disabled), by name, each with its
    Admins as the contact: a buyer shut out of every shop learns who did it and how to ask (2 queries)."""
    companies = db.session.scalars(
        select(Company).join(EcommerceUser, EcommerceUser.company_id == Company.id)
        .where(EcommerceUser.user_id == user.id, EcommerceUser.status == LinkStatus.DISABLED)
        .order_by(Company.name)).all()
    ended = {company.id: EndedAccess(company, []) for company in companies}
    admins = db.session.execute(
        select(Membership.company_id, User.name, User.email).join(User, User.id == Membership.user_id)
        .where(Membership.company_id.in_(ended), Membership.role == Role.ADMIN).order_by(User.name)).all() if ended else []
    for company_id, name, email in admins:
        ended[company_id].contacts.append((name, email))
    return list(ended.values())
