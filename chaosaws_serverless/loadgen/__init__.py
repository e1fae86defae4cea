"""Customer-behaviour load generator: open-loop HTTP load, classified and published.

Kept import-light on purpose (package discovery imports this module): aiohttp,
hdrhistogram and boto3 are imported by the submodules only.

Interfaces
==========
- Chaos Toolkit action ``chaosaws_serverless.loadgen.actions.generate_load``
  (``background: true`` safe; returns the summary dict below), plus
  ``deploy_load_generator`` / ``start_load_generator`` to run it on AWS Lambda
  in a region (handler ``chaosaws_serverless.loadgen.handler.lambda_handler``).
- CLI ``chaosaws-serverless load --url URL --rate N --duration S [...]``.
- Library, for a caller with its own name resolution (the lab)::

      from chaosaws_serverless.loadgen.config import LoadConfig
      from chaosaws_serverless.loadgen.engine import LoadGenerator, run_load, run_load_sync
      from chaosaws_serverless.loadgen.publish import CloudWatchPublisher, EmfPublisher

      config = LoadConfig(url="https://example.mydomain.com/api/hello",
                          rate_per_second=50, duration_seconds=600,
                          client_region="us-east-1", interval_seconds=10)
      gen = LoadGenerator(
          config,
          resolve=lambda host: ("127.0.0.1", 8443),   # or resolver=<aiohttp AbstractResolver>
          publisher=CloudWatchPublisher(cw_client, config.namespace, config.url,
                                        config.client_region),
          on_interval=lambda interval: print(interval.counts, interval.regions),
      ).start()
      ...
      gen.stop(); summary = gen.join()

  ``await run_load(config, publisher=..., on_interval=..., on_progress=...,
  resolver=... | resolve=..., stop=asyncio.Event())`` is the same in an event
  loop you own; ``run_load_sync(config, ...)`` runs it on a fresh (uv)loop in
  the calling thread and stops cleanly on SIGINT/SIGTERM.

  ``resolve(host)`` returns ``"ip"``, ``("ip", port)`` or ``None`` (system DNS)
  and may be a coroutine function; the URL's host still goes into the ``Host``
  header and TLS SNI. ``on_interval(IntervalStats)`` runs on the event loop
  thread once per interval (keep it quick); a publisher's ``publish`` runs in
  one worker thread, in order; neither ever stops the load when it fails.

Engine contract
===============
Open loop: request ``i`` is intended at ``start + i / rate``; latency is measured
from that intended time (no coordinated omission). The scheduler wakes at most
once a millisecond and sends every request that has come due; that slip (about
1 ms at high rates) is part of the measured latency, never hidden. A request that finds
``max_in_flight`` requests outstanding, or that the loop could not start (or the
httptools client could not give a connection) within ``max_send_lag_seconds``
(default 0.1 s) of its intended time, is counted as
``dropped``; the latter, and what the generator sheds when its own lag
(event-loop delay, busiest thread's CPU + run-queue wait) says it is behind,
also as ``shed``. An interval that shed more than 1 % is ``saturated``: the
summary, the progress snapshot and the published ``generator_saturated`` say
so, with the rate held (``held_rate_per_second``): a saturated run is never a
silent measurement of the API. HTTP goes through the generator's own HTTP/1.1
client on the event loop (``clients/http1.py``, httptools; aiohttp for ``HEAD``,
a proxy or an aiohttp resolver: ``LoadConfig.http_client``, ``clients/``).
``workers.run_load_workers(config, n)`` runs one plan over ``n`` processes, one
merged publish per interval.
Each finished request lands in exactly one class: ``2xx``/``4xx``/``5xx``/
``timeout``/``connect_error``/``invalid_response`` (answered, but not HTTP);
the answering region is parsed from the body with ``region_pattern``
(default ``Hello from region {region}``). Connections are recycled after
``connection_max_age_seconds`` and DNS answers cached ``dns_cache_seconds``, so
simulated customers follow a DNS failover like real clients.

Rooms: ``engine`` (the ways to run a load), ``scheduler`` (one run's plan,
counts and intervals), ``governor`` (the generator's own lag and in-flight
limit), ``clients/`` (the HTTP back ends behind one contract), ``summary``,
``stats`` (intervals, HdrHistogram), ``publish`` (CloudWatch, EMF),
``workers`` (one plan over processes), ``config``; the Lambda side:
``handler``, ``bundle``, ``deployment``; the faces: ``actions``, ``cli``.

Summary keys: ``planned``, ``sent``, ``dropped``, ``completed``, ``status_2xx``,
``status_4xx``, ``status_5xx``, ``status_timeout``, ``status_connect_error``,
``status_invalid_response``, ``status_other``, ``regions`` (region -> count),
``region_unparsed`` (2xx without a region), ``latency_ms`` (p50/p90/p99/max),
``achieved_rate_per_second``, ``elapsed_seconds``, ``intervals``,
``stopped_early``, ``event_loop``, ``http_client``, ``saturated``,
``saturated_intervals``, ``shed``, ``held_rate_per_second``,
``generator_lag_ms`` (``send_slip_max``, ``loop_lag_max``),
``generator_busy_max`` and the publisher's counters
(``put_metric_data_calls``, ``failed_calls``, ``datums`` or ``emf_lines``).
"""
