"""IdeaStorm: customers propose ideas and vote, R&D answers in public."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from .config import PROJECT_ROOT, DefaultConfig, check_secret_key, finalize


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application; read top to bottom, it is the table of contents."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    _load_config(app, config)
    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    _register_jinja_helpers(app)
    return app


def _load_config(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("IDEASTORM")
    if overrides:
        app.config.update(overrides)
    finalize(app.config, app.instance_path)
    check_secret_key(app.config, debug=app.debug)


def _init_extensions(app: Flask) -> None:
    from . import cache, database, errors, models, outbox  # noqa: F401  (models: every mapper registered)
    from . import web
    from .accounts import auth
    from .extensions import babel, csrf, db, htmx, migrate
    from .i18n import select_locale
    from .security import headers, permissions
    from .security import limits
    from . import sso
    from . import accounts, mail, notifications, privacy, search

    db.init_app(app)
    database.init_app(app)
    web.init_app(app)  # a NUL in a form answers 400 before anything else reads it
    headers.init_app(app)  # ProxyFix, a Host outside TRUSTED_HOSTS refused, CSP and the rest on every response
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    htmx.init_app(app)
    auth.init_app(app)
    permissions.init_app(app)
    outbox.init_app(app)
    cache.init_app(app)
    search.init_app(app)
    notifications.init_app(app)
    accounts.init_app(app)  # the hourly pruning of ended login sessions
    privacy.init_app(app)
    mail.init_app(app)
    sso.init_app(app)  # OIDC_PROVIDERS checked (a bad entry stops the app) and their Authlib clients
    errors.init_app(app)
    limits.init_app(app)  # the abuse limits of security/limits.py; 429 with Retry-After


def _register_blueprints(app: Flask) -> None:
    from .accounts.routes import bp as accounts_bp
    from .admin.routes import bp as admin_bp
    from .comments.routes import bp as comments_bp
    from .feeds.routes import bp as feeds_bp
    from .ideas.routes import bp as ideas_bp
    from .integrity.routes import bp as integrity_bp
    from .mail.routes import bp as mail_bp
    from .main.routes import bp as main_bp
    from .notifications.routes import bp as notifications_bp
    from .privacy.routes import bp as privacy_bp
    from .public.routes import bp as public_bp
    from .search.routes import bp as search_bp
    from .sso.routes import bp as sso_bp
    from .stats.routes import bp as stats_bp
    from .triage.routes import bp as triage_bp
    from .votes.routes import bp as votes_bp

    for blueprint in (
        main_bp, accounts_bp, ideas_bp, votes_bp, comments_bp, triage_bp, admin_bp, integrity_bp,
        public_bp, stats_bp, feeds_bp, search_bp, notifications_bp, mail_bp, privacy_bp, sso_bp,
    ):
        app.register_blueprint(blueprint)


def _register_cli(app: Flask) -> None:
    from .accounts.cli import users_cli
    from .demo.cli import demo_cli
    from .mail.cli import mail_cli
    from .notifications.cli import notifications_cli
    from .outbox_cli import outbox_cli
    from .privacy.cli import privacy_cli
    from .search.cli import search_cli
    from .votes.cli import votes_cli
    from .worker import worker_command

    for group in (users_cli, votes_cli, demo_cli, outbox_cli, search_cli, notifications_cli, mail_cli,
                  privacy_cli, worker_command):
        app.cli.add_command(group)


def _register_jinja_helpers(app: Flask) -> None:
    from . import settings
    from .templating import init_app

    init_app(app)
    settings.init_app(app)
