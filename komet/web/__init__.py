"""The request-side kit: htmx conventions, the permission decorator, templating, form fields.

Depends on the kernel (komet/*.py) only; features build on it, never the other way round.
"""
