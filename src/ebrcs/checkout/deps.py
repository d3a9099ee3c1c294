"""Ownership as dependencies: a route names what it works on and gets the caller's own.

Each resolves an object from the path for the logged-in caller, or answers 404 exactly as
for an object that does not exist, so a route cannot forget the check (the authorization
matrix insists that every route with an owned path parameter depends on one of these)::

    @router.get("/{session_id}/unsure")
    def list_unsure(session: OwnedSession, db: DbSession) -> list[UnsureItemOut]: ...

The checkout socket resolves its session with ``ebrcs.checkout.websocket.active_socket_session``,
which closes the socket the same way for another user's session and a missing one.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from ebrcs.auth.deps import CurrentUser
from ebrcs.checkout import service, unsure
from ebrcs.checkout.models import CheckoutSession, UnresolvedItem
from ebrcs.checkout.video import VideoTask, VideoTasks
from ebrcs.deps import DbSession, SettingsDep


def owned_session(session_id: uuid.UUID, db: DbSession, user: CurrentUser) -> CheckoutSession:
    """The caller's checkout session named in the path (404 for anyone else's)."""
    return service.get_owned(db=db, session_id=session_id, user=user)


OwnedSession = Annotated[CheckoutSession, Depends(owned_session)]


def fresh_owned_session(
    session: OwnedSession, db: DbSession, settings: SettingsDep
) -> CheckoutSession:
    """The caller's session, first marked expired if it was idle past the TTL."""
    return service.expire_if_idle(db=db, session=session, ttl_minutes=settings.session_ttl_minutes)


FreshOwnedSession = Annotated[CheckoutSession, Depends(fresh_owned_session)]


def active_owned_session(session: FreshOwnedSession) -> CheckoutSession:
    """The caller's session while its cart may still change (409 once it has ended)."""
    return service.require_active(session)


ActiveOwnedSession = Annotated[CheckoutSession, Depends(active_owned_session)]


def owned_unsure_item(item_id: uuid.UUID, session: OwnedSession, db: DbSession) -> UnresolvedItem:
    """An unsure item of the caller's session named in the path (404 for any other)."""
    return unsure.get(db=db, session_id=session.id, item_id=item_id)


OwnedUnsureItem = Annotated[UnresolvedItem, Depends(owned_unsure_item)]


def video_tasks(request: Request) -> VideoTasks:
    """The video tasks this process runs."""
    return request.app.state.video_tasks


VideoTasksDep = Annotated[VideoTasks, Depends(video_tasks)]


def owned_video_task(
    session_id: uuid.UUID, task_id: uuid.UUID, tasks: VideoTasksDep, user: CurrentUser
) -> VideoTask:
    """The caller's video task of the session in the path (404 for anyone else's)."""
    return tasks.get(task_id=task_id, session_id=session_id, user_id=user.id)


OwnedVideoTask = Annotated[VideoTask, Depends(owned_video_task)]
