"""The HTTP clients behind the engine: one contract, two back ends.

- ``base.py``: the contract (``HttpClient``, the ``done`` callback, the resolve hook);
- ``http1.py`` (with ``http1_connection.py``): the generator's own HTTP/1.1 client
  on the event loop, the default (httptools);
- ``aiohttp.py``: aiohttp sessions, for ``HEAD``, proxies and aiohttp resolvers;
- ``choice.py``: which one a run uses (``LoadConfig.http_client``), and building it.
"""
