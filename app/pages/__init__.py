"""Server-rendered HTML pages: account pages, posts, campaigns, login, dashboard, moderation.

Thin views over the service layer (``feed``, ``moderation``, ``app.accounts``); Jinja
templates with autoescape; JavaScript only from static files (``static/pages.js`` and the
vendored hls.js and socket.io-client), so the CSP allows no inline script at all.
Start with ``public.py`` (account, post and campaign pages); ``signin.py`` is /login and
/logout, ``dashboard.py`` the merchant dashboard, ``moderation.py`` the moderators' queue,
``security.py`` CSRF, cookie flags and the CSP. The views are on ``blueprint.bp``, which the
app factory registers.
"""
