"""The floor: a bare Flask page running one query, served by gunicorn like the app."""
import os

from flask import Flask
from sqlalchemy import create_engine, text

from config import engine_options

app = Flask(__name__)
engine = create_engine(os.environ["DATABASE_URL"], **engine_options(os.environ["DATABASE_URL"]))


@app.get("/")
def one_query():
    with engine.connect() as conn:
        return f"<p>{conn.execute(text('SELECT count(*) FROM companies')).scalar()}</p>"
