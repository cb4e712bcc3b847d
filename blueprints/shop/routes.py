from flask import render_template, request

from blueprints.shop import bp
from komet.catalog import catalogue_page
from komet.security import buyer_required


@bp.get("/")
@buyer_required
def home():
    products = catalogue_page(request.args.get("page", 1, type=int))
    return render_template("shop/home.html", products=products)
