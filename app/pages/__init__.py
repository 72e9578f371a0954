"""Server-rendered HTML pages: account pages, posts, campaigns, login, dashboard, moderation."""

from flask import Blueprint

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/pages-static")
