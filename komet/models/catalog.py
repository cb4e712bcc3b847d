"""The demo product catalogue shown in the shop."""
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from komet.extensions import db


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("company_id", "sku"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    unit: Mapped[str] = mapped_column(String(20), default="box")
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
