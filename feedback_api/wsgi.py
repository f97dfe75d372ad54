"""The served application: the published site and the API on one origin.

gunicorn loads `feedback_api.wsgi:application`. WhiteNoise serves the versioned site
from the settings' site directory; the API's own paths go straight to Flask, except the
feedback submissions, answered by the same rules without Flask's per-request machinery
(feedback_api/ingest/fast_path.py).
"""

from __future__ import annotations

from whitenoise import WhiteNoise

from . import create_app
from .http.body import buffer_body
from .http.headers import site_headers
from .ingest.fast_path import FeedbackFastPath

# Paths that are never files of the site. Sending them past WhiteNoise saves its file
# lookups (stat calls, in autorefresh mode) on every API request.
APP_PREFIXES = ("/api/", "/dashboard", "/healthz", "/readyz", "/metrics")


def build(app=None):
    app = app or create_app()
    site_dir = app.config["SETTINGS"].site_dir
    # autorefresh: a version published while the server runs is served without a restart,
    # and the site directory may be swapped atomically underneath us.
    static = WhiteNoise(app, root=str(site_dir), index_file=True, autorefresh=True)
    site = list(site_headers(app.config["SETTINGS"].site_api_origins).items())
    body_seconds = app.config["SETTINGS"].body_timeout_seconds
    feedback = FeedbackFastPath(app)

    def application(environ, start_response):
        if environ.get("PATH_INFO", "").startswith(APP_PREFIXES):
            buffer_body(environ, body_seconds)  # the site's paths read no body
            if feedback.takes(environ):
                return feedback(environ, start_response)  # the same answer, without Flask
            return app(environ, start_response)

        # Here rather than WhiteNoise's add_headers_function, which reaches only the files
        # it serves: its own redirects (a missing slash), 304s and 405s need them too.
        def with_site_headers(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers.extend(item for item in site if item[0].lower() not in present)
            return start_response(status, headers, exc_info)

        return static(environ, with_site_headers)

    application.flask_app = app
    return application


application = build()
