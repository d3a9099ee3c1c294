"""Routes of the auth domain: sign-up, login, the caller's account, the user list for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status

from ebrcs.auth import flows, service, throttle
from ebrcs.auth.deps import AdminUser, CurrentUser
from ebrcs.auth.schemas import AccessTokenResponse, MeOut, SignupRequest, UserOut
from ebrcs.deps import DbSession, SettingsDep
from ebrcs.text import Text

router = APIRouter(tags=["auth"])

# Longer than any account's username or password; a longer field is refused (422) before
# anything is hashed.
LOGIN_FIELD_MAX = 1024


def client_address(request: Request) -> str:
    """The caller's address as the server sees it (throttles count per address)."""
    return request.client.host if request.client else "unknown"


@router.post("/api/auth/signup", status_code=status.HTTP_201_CREATED)
def signup(body: SignupRequest, request: Request, db: DbSession, settings: SettingsDep) -> UserOut:
    """Create a shopper account (admins are made by operators, see ``ebrcs users``).

    429 past ``EBRCS_SIGNUP_MAX_PER_ADDRESS`` sign-ups from one address per window.
    """
    throttle.charge_signup(db=db, client_address=client_address(request), settings=settings)
    user = service.create(db=db, username=body.username, password=body.password, email=body.email)
    return UserOut.model_validate(user)


@router.post("/api/auth/login")
def login(
    username: Annotated[Text, Form(max_length=LOGIN_FIELD_MAX)],
    password: Annotated[Text, Form(max_length=LOGIN_FIELD_MAX)],
    request: Request,
    db: DbSession,
    settings: SettingsDep,
) -> AccessTokenResponse:
    """Exchange a username and password (an OAuth2 password form) for a bearer token.

    429 after repeated failures.
    """
    token = flows.log_in(
        db=db,
        settings=settings,
        username=username,
        password=password,
        client_address=client_address(request),
    )
    return AccessTokenResponse(access_token=token.token, expires_in=token.expires_in)


@router.get("/api/auth/me")
def me(user: CurrentUser, settings: SettingsDep) -> MeOut:
    """The caller's own account and the shop's currency."""
    return MeOut(**UserOut.model_validate(user).model_dump(), currency=settings.currency)


@router.get("/api/admin/users")
def list_users(_admin: AdminUser, db: DbSession) -> list[UserOut]:
    """Every account, oldest first (admin only)."""
    return [UserOut.model_validate(user) for user in service.list_all(db=db)]
