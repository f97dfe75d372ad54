"""The served application: the published site and the API on one origin.

gunicorn loads `feedback_api.wsgi:application`. WhiteNoise serves the versioned site
from the settings' site directory and hands everything it has no file for to Flask.
"""

from __future__ import annotations

from whitenoise import WhiteNoise

from . import create_app


def build(app=None) -> WhiteNoise:
    app = app or create_app()
    site_dir = app.config["SETTINGS"].site_dir
    # autorefresh: a version published while the server runs is served without a restart,
    # and the site directory may be swapped atomically underneath us.
    return WhiteNoise(app, root=str(site_dir), index_file=True, autorefresh=True)


application = build()
