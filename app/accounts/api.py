"""/auth and /accounts: registration, tokens, the signed-in account, public profiles."""

from flask import g

from app.accounts import service, tokens
from app.accounts.schemas import (
    AccountSchema,
    AccountUpdateSchema,
    AuthResultSchema,
    LoginSchema,
    PasswordChangeSchema,
    PasswordSchema,
    RegisterSchema,
)
from app.api import Blueprint
from app.auth import auth_optional, auth_required, current_account
from app.etags import etagged
from app.ratelimits import limit, remember_sign_in
from feed import graph
from media import service as media

bp = Blueprint("accounts", __name__, description="Accounts and tokens")


@bp.post("/auth/register")
@limit("register")
@bp.arguments(RegisterSchema)
@bp.response(201, AuthResultSchema)
def register(data):
    account = service.register(data)
    return {"account": service.Seen(account, private=True), "token": tokens.issue(account.id)}


@bp.post("/auth/token")
@limit("login")
@bp.arguments(LoginSchema)
@bp.response(200, AuthResultSchema)
def login(data):
    account = service.authenticate(data["username"], data["password"])
    remember_sign_in(data["username"])
    return {"account": service.Seen(account, private=True), "token": tokens.issue(account.id)}


@bp.delete("/auth/token")
@auth_required()
@bp.response(204)
def logout():
    tokens.revoke(g.token)


@bp.post("/auth/password")
@auth_required()
@bp.arguments(PasswordChangeSchema)
@bp.response(204)
def change_password(data):
    service.change_password(g.account, data["old_password"], data["new_password"], g.token)


@bp.get("/accounts/me")
@auth_required()
@etagged
@bp.response(200, AccountSchema)
def me():
    return service.Seen(g.account, private=True)


@bp.patch("/accounts/me")
@auth_required()
@bp.arguments(AccountUpdateSchema)
@bp.response(200, AccountSchema)
def update_me(changes):
    if changes.get("avatar_media_id"):
        media.check_avatar(g.account, changes["avatar_media_id"])
    if changes.get("banner_media_id"):
        media.check_avatar(g.account, changes["banner_media_id"], field="banner_media_id")
    return service.Seen(service.update(g.account, changes), private=True)


@bp.delete("/accounts/me")
@auth_required()
@bp.arguments(PasswordSchema)
@bp.response(204)
def delete_me(data):
    service.delete(g.account, data["password"])


@bp.get("/accounts/<string:ref>")
@auth_optional
@etagged
@bp.response(200, AccountSchema)
def get_account(ref):
    viewer = current_account()
    account = service.lookup(ref)
    if viewer is not None and viewer.id == account.id:
        return service.Seen(account, private=True)
    return graph.seen_by(account, viewer)
