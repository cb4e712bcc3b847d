"""What a buyer sees of their own login: the companies they buy from."""
from dataclasses import dataclass

from sqlalchemy import select

from komet.extensions import db
from komet.models import Company, Customer, CustomerUser, EcommerceUser, LinkStatus, User


@dataclass
class CompanyLink:
    company: Company
    status: LinkStatus
    username: str
    customers: list


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
