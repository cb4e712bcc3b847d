from flask_wtf import FlaskForm
from wtforms import BooleanField


class RequireTwoStepForm(FlaskForm):
    required = BooleanField("Require two-step verification for all staff",
                            description="Staff without it are asked to set it up at their next login.")
