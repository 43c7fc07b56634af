"""Who a provider's verified answer signs in: the rules of single sign-on (no request here).

Given a provider and the claims of an ID token whose signature, issuer, audience, nonce and
expiry were already checked, ``resolve_member`` finds or makes the member, in the caller's
transaction (it flushes and raises ``DomainError``; the caller commits):

1. an identity (provider, subject) already linked: that member, whatever the email says now;
2. else a verified email that names an account: the identity is linked to it;
3. else, when the provider allows sign-ups, a new account (address confirmed, no password).

An unverified email never links to an account and never makes one (anyone can type any address
at some providers). Banned members are refused, deleted accounts never come back. The staff rule
only promotes (member to staff) and is audited; taking the role away is an administrator's act.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from flask_babel import gettext as _
from sqlalchemy import select

from ..accounts.models import User, UserIdentity
from ..accounts.services import EMAIL_MAX, NAME_MAX, create_user, normalize_email, revoke_login_sessions
from ..audit.services import record
from ..database import Retry
from ..domain import DomainError
from ..extensions import db
from ..roles import Role
from ..timeutil import utcnow
from .providers import Provider

SUBJECT_MAX = 255  # user_identities.subject


@dataclass
class SignInResult:
    user: User
    created: bool = False  # a new account was made
    linked: bool = False  # this provider's identity was joined to the account now
    promoted: bool = False  # the staff rule made the member staff now
    identity: UserIdentity | None = None


def resolve_member(provider: Provider, claims: Mapping[str, Any], *, ip_prefix: str | None = None) -> SignInResult:
    """The member these verified ID-token claims sign in, found, linked or created (see the module)."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > SUBJECT_MAX:
        raise DomainError("sso_no_subject", _("%(provider)s did not say who you are. Please try again.",
                                              provider=provider.label), status=400)
    email = normalize_email(claims.get("email") if isinstance(claims.get("email"), str) else "")
    if len(email) > EMAIL_MAX:
        email = ""  # no address of ours is that long: as if none was sent
    verified = bool(email) and provider.email_verified(claims)
    _check_allowed_domain(provider, email, verified)

    now = utcnow()
    result = _linked(provider, subject) or _link_or_create(provider, claims, subject, email, verified, ip_prefix)
    user, identity = result.user, result.identity
    if email:
        identity.email = email
    identity.last_login_at = user.last_login_at = now
    if verified and email == user.email and not user.is_verified:
        user.email_verified_at = now  # the provider has just vouched for the address
    result.promoted = _apply_staff_rule(provider, user, claims, email, verified)
    db.session.flush()
    return result


def _linked(provider: Provider, subject: str) -> SignInResult | None:
    identity = db.session.scalar(select(UserIdentity).where(
        UserIdentity.provider == provider.name, UserIdentity.subject == subject))
    if identity is None:
        return None
    user = db.session.get(User, identity.user_id)
    if user is None or user.deleted_at is not None:
        # Erasure deletes identities; one left behind must not reopen the account, nor block a new one.
        db.session.delete(identity)
        db.session.flush()
        return None
    _check_not_banned(user)
    return SignInResult(user, identity=identity)


def _link_or_create(provider: Provider, claims: Mapping[str, Any], subject: str, email: str, verified: bool,
                    ip_prefix: str | None) -> SignInResult:
    if not email:
        raise DomainError("sso_no_email", _(
            "%(provider)s did not share your email address, which IdeaStorm needs to sign you in. "
            "Allow it at %(provider)s and try again.", provider=provider.label), status=403)
    if not verified:
        raise DomainError("sso_email_unverified", _(
            "%(provider)s has not confirmed that %(email)s is yours, so it cannot sign you in to an account "
            "here. Confirm the address at %(provider)s, or log in with your password.",
            provider=provider.label, email=email), status=403)
    user = db.session.scalar(select(User).where(User.email == email))
    created = False
    if user is not None:
        if user.deleted_at is not None:
            raise DomainError("sso_account_deleted", _("This account was deleted."), status=403)
        _check_not_banned(user)
        if not user.is_verified:
            # Nobody proved this address before: whoever registered it may not be its owner. The
            # provider proves it now, so what that registration set (its password and its open
            # sessions) is dropped; the owner can choose a password with "Forgot your password?".
            user.password_hash = None
            revoke_login_sessions(user)
    elif not provider.allow_signup:
        raise DomainError("sso_signup_closed", _(
            "There is no account for %(email)s, and new accounts cannot be made with %(provider)s. "
            "Ask an administrator to invite you.", email=email, provider=provider.label), status=403)
    else:
        user = _create_member(provider, claims, email, ip_prefix)
        created = True
    # A concurrent first sign-in of the same identity loses on the unique (provider, subject):
    # run_transaction replays the work, which then finds the identity.
    identity = UserIdentity(user_id=user.id, provider=provider.name, subject=subject, email=email)
    db.session.add(identity)
    db.session.flush()
    return SignInResult(user, created=created, linked=True, identity=identity)


def _create_member(provider: Provider, claims: Mapping[str, Any], email: str, ip_prefix: str | None) -> User:
    """A new account in the provider's name: confirmed address, no password (it signs in here only)."""
    refused: DomainError | None = None
    for name in display_names(claims, email, provider.label):
        try:
            user = create_user(email, name, None, confirmed=True)
        except DomainError as error:
            if error.code == "email_taken":
                raise Retry() from error  # a concurrent sign-up made it: replayed, this one links to it
            if set(error.fields) != {"display_name"}:
                raise
            refused = error  # a name the account rules refuse: try the next one the provider gave
            continue
        user.signup_ip_prefix = ip_prefix
        return user
    raise refused


def display_names(claims: Mapping[str, Any], email: str, label: str) -> list[str]:
    """The names to try for a new account, best first: the full name, given and family names, the username."""
    given = " ".join(str(claims.get(k) or "") for k in ("given_name", "family_name"))
    local = email.split("@", 1)[0]
    candidates = [claims.get("name"), given, claims.get("preferred_username"), claims.get("nickname"),
                  local, f"{local} ({label})"]
    names: list[str] = []
    for candidate in candidates:
        name = " ".join(str(candidate or "").split())[:NAME_MAX].strip()
        if name and name not in names:
            names.append(name)
    return names


def _check_not_banned(user: User) -> None:
    if user.is_banned:
        raise DomainError("banned", _("This account has been suspended."), status=403)


def _domain(email: str) -> str:
    return email.rsplit("@", 1)[-1] if "@" in email else ""


def _check_allowed_domain(provider: Provider, email: str, verified: bool) -> None:
    """A provider limited to some email domains lets in only verified addresses from them, every time."""
    if not provider.email_domains:
        return
    if not (verified and _domain(email) in provider.email_domains):
        raise DomainError("sso_domain_refused", _(
            "Only %(domains)s addresses confirmed by %(provider)s may sign in with %(provider)s.",
            domains=", ".join(sorted(provider.email_domains)), provider=provider.label), status=403)


def staff_rule_matches(provider: Provider, claims: Mapping[str, Any], email: str, verified: bool) -> bool:
    """The provider's staff rule: a verified address in ``staff_email_domains``, or a group in ``staff_groups``."""
    if verified and provider.staff_email_domains and _domain(email) in provider.staff_email_domains:
        return True
    return bool(provider.staff_groups and provider.groups(claims) & provider.staff_groups)


def _apply_staff_rule(provider: Provider, user: User, claims: Mapping[str, Any], email: str, verified: bool) -> bool:
    """Promote a member the rule names to staff, audited as the system's act; never lowers a role."""
    if user.role != Role.MEMBER.value or not staff_rule_matches(provider, claims, email, verified):
        return False
    record(None, "user.role", user, before={"role": user.role},
           after={"role": Role.STAFF.value, "by": provider.method})
    user.role = Role.STAFF.value
    return True


def identities_of(user: User) -> list[UserIdentity]:
    """The provider accounts linked to ``user``, oldest first (shown on /account)."""
    return list(db.session.scalars(
        select(UserIdentity).where(UserIdentity.user_id == user.id).order_by(UserIdentity.id)))
