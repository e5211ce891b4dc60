"""Sessions that end after an idle period, without a session write on every request.

The session cookie lives SESSION_COOKIE_AGE seconds (SESSION_IDLE_MINUTES) from its last save. Saving
on every request (SESSION_SAVE_EVERY_REQUEST) would cost a write per page; instead the session is
touched, and so saved with a fresh expiry, at most once every ``REFRESH_SECONDS``. A session idle for
the whole age expires; an active one never does.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

TOUCHED = "_touched"
REFRESH_SECONDS = 300


def touch(session) -> None:
    session[TOUCHED] = int(time.time())


class IdleSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        # Only a session that was read (the request was signed in) and has gone quiet long enough.
        if (
            session is not None
            and session.accessed
            and not session.is_empty()
            and int(time.time()) - session.get(TOUCHED, 0) >= REFRESH_SECONDS
        ):
            touch(session)
        return response


@receiver(user_logged_in)
def _touch_on_login(sender, request: HttpRequest, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        touch(request.session)
