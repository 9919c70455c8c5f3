# tests/local.mk - suite-wide pieces; module unit tests live in their
# module's fragment.
EXTRA_DIST += tests/summary.sh

# Integration tests against real peers (Debian's prometheus, promtool,
# prometheus-alertmanager, prometheus-node-exporter), TAP scripts that
# start everything on 127.0.0.1 and stop what they started.
TESTS += tests/integration/test_alerting.sh tests/integration/test_prometheus_peer.sh \
	tests/integration/test_rules_cli.sh tests/integration/test_http_sd.sh \
	tests/integration/test_node_exporter.sh
EXTRA_DIST += tests/integration/lib.sh tests/integration/test_alerting.sh tests/integration/test_rules_cli.sh \
	tests/integration/test_http_sd.sh \
	tests/rules \
	tests/integration/test_prometheus_peer.sh tests/integration/test_node_exporter.sh
include tests/integration/local.mk
