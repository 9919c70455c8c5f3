# api/local.mk - libmicrohttpd server, routing, /api/v1/*, lifecycle, self-metrics.
