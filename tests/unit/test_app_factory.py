"""The app's shortcut past Flask's coroutine check hands back exactly what Flask would."""
import functools

import pytest

from komet import create_app
from config import TestingConfig


@pytest.fixture(scope="module")
def bare_app():
    return create_app(TestingConfig)


def test_a_plain_hook_or_view_is_run_as_it_is(bare_app):
    def view():
        return "ok"

    assert bare_app.ensure_sync(view) is view
    assert bare_app.ensure_sync(bare_app.preprocess_request) == bare_app.preprocess_request


def test_a_coroutine_function_still_takes_flasks_own_path(bare_app):
    async def view():
        return "ok"

    for func in (view, functools.partial(view)):
        try:
            wrapped = bare_app.ensure_sync(func)
        except RuntimeError as error:  # Flask without its async extra says so, as it always did
            assert "async" in str(error)
        else:
            assert wrapped is not func and wrapped() == "ok"
