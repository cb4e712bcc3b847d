"""Gives every message a Flask app context, as a request gets one."""
import threading

from dramatiq import Middleware


class AppContextMiddleware(Middleware):
    def __init__(self, app):
        self.app = app
        self._local = threading.local()

    def before_process_message(self, broker, message):
        context = self.app.app_context()
        context.push()
        self._local.context = context

    def after_process_message(self, broker, message, *, result=None, exception=None):
        context = getattr(self._local, "context", None)
        if context is not None:
            self._local.context = None
            context.pop()

    def after_skip_message(self, broker, message):
        self.after_process_message(broker, message)
