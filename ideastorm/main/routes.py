from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, make_response, redirect, request, send_from_directory
from flask_login import current_user

from ..extensions import csrf, db
from ..i18n import LOCALE_COOKIE
from ..ideas.queries import active_categories, ideas_query
from ..notifications.services import followed_among
from ..public.queries import headline_counts
from ..security.headers import CSP_REPORT_PATH, BadReport, log_violations, read_reports
from ..security.limits import limit
from ..settings.services import brand_stylesheet, logo_path, site_settings, welcome_html
from ..votes.services import votes_of
from ..web import next_url, render

bp = Blueprint("main", __name__)

HOME_IDEAS = 10

# Front-end packages come from npm (package.json); only these files are served.
VENDOR_FILES = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "pico.min.css": "@picocss/pico/css/pico.min.css",
}


@bp.get("/")
def home():
    ideas = db.session.scalars(ideas_query("trending").limit(HOME_IDEAS)).unique().all()
    return render(
        "main/home.html", ideas=ideas, headline=headline_counts(), categories=active_categories(),
        my_votes=votes_of(current_user, ideas), welcome=welcome_html(),
        followed=followed_among(current_user, ideas),
    )


@bp.get("/healthz")
def healthz():
    """The database, the search index compared with it, the outbox backlog (see main/health.py)."""
    from .health import site_health

    body, status = site_health()
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/locale")
def set_locale():
    """Switch language: saved on the account when signed in, in a cookie otherwise."""
    locale = request.form.get("locale", "")
    if locale not in current_app.config["LANGUAGES"]:
        abort(400)
    response = make_response(redirect(next_url("main.home")))
    response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    if current_user.is_authenticated:
        current_user.locale = locale
        db.session.commit()
    return response


@bp.get("/vendor/<name>")
def vendor(name: str):
    relative = VENDOR_FILES.get(name) or abort(404)
    path = Path(current_app.config["VENDOR_DIR"]) / relative
    response = send_from_directory(path.parent, path.name, max_age=7 * 24 * 3600)
    return response


YEAR = 365 * 24 * 3600


@bp.get("/brand.css")
def brand_css():
    """The accent colour as Pico's variables; cached for a year under its version's URL."""
    brand = site_settings()
    response = make_response(brand_stylesheet(brand))
    response.content_type = "text/css; charset=utf-8"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.args.get("v") == str(brand.version):
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    else:  # an old or missing version: the current sheet, to be checked again next time
        response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/logo/<name>")
def logo(name: str):
    """The site's current logo; its name holds its content's hash, so it is cached for a year."""
    brand = site_settings()
    path = logo_path(name)
    if path is None or name != brand.logo_file:
        abort(404)
    response = send_from_directory(Path(path).parent, name, mimetype=brand.logo_type, max_age=YEAR)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    return response


@bp.post(CSP_REPORT_PATH)
@csrf.exempt  # browsers send reports without cookies or a token; nothing is changed but the log
@limit("write")  # a flood of reports would flood the log
def csp_report():
    """Content-Security-Policy violations, reported by browsers: logged as warnings, answered 204."""
    limit = int(current_app.config["CSP_REPORT_MAX_BYTES"])
    if (request.content_length or 0) > limit:
        abort(413)
    body = request.get_data()  # cached: the NUL check may have read a JSON report already
    if len(body) > limit:
        abort(413)
    try:
        log_violations(read_reports(body))
    except BadReport:
        abort(400)
    return "", 204
