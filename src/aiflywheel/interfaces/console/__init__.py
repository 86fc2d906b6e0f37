"""The web console: server-rendered pages over the same kernel calls as the REST API, at ``/``.

Sign in with an API key; the session lives in a signed, HttpOnly, SameSite cookie and every
form carries a CSRF token. Pages render with Jinja2; plotly.js (from the ``plotly`` wheel)
draws the charts and a small script of our own adds live updates — nothing is fetched from
the internet.
"""
