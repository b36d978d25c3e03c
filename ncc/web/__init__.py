"""The NCC's web side: the JSON API, the live dashboard (Bahasa Indonesia) and /metrics.

``server.WebServer`` serves them; ``api`` and ``pages`` hold the handlers, ``params`` the
pure parsing of what a client sends, ``labels`` the Indonesian words the pages show.
"""
