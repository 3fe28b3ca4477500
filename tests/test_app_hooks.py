"""Per-request hooks of the application."""

from __future__ import annotations

import inspect


def test_no_request_ends_through_an_async_teardown(app):
    # An async teardown makes Flask start a thread and an event loop at the end of every
    # request; Flux opens no async session, so only the sync session teardown is kept.
    names = [f.__name__ for f in app.teardown_appcontext_funcs]
    assert "_close_sessions" in names
    assert not any(inspect.iscoroutinefunction(f) for f in app.teardown_appcontext_funcs)
