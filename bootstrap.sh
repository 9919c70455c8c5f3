#!/usr/bin/env bash
# bootstrap.sh - the quick start on a fresh Debian 12 machine.
#   ./bootstrap.sh run     install what is missing, build, start tinyprom on 127.0.0.1:9090
#   ./bootstrap.sh check   install what is missing, build, run the whole suite
#   ./bootstrap.sh build   install what is missing, build
# Extra arguments after `run` go to tinyprom; CONFIGURE_FLAGS goes to ./configure.
set -euo pipefail
cd "$(dirname "$0")"

PKGS="build-essential autoconf automake libtool pkg-config git ca-certificates
 libmicrohttpd-dev libcjson-dev libjemalloc-dev libsnappy-dev libprotobuf-c-dev
 protobuf-c-compiler libyaml-dev libpcre2-dev libcurl4-openssl-dev zlib1g-dev
 lemon libcmocka-dev curl python3
 prometheus prometheus-alertmanager prometheus-node-exporter"

install_deps() {
	local missing=""
	for p in $PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "bootstrap: missing Debian packages; install them with:" >&2
		echo "  sudo apt-get install -y$missing" >&2
		exit 1
	fi
	echo "bootstrap: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# The packaged servers must not start on their own and take our ports.
	local prc=/usr/sbin/policy-rc.d had_prc=1
	[ -e "$prc" ] || { had_prc=0; printf '#!/bin/sh\nexit 101\n' > "$prc"; chmod +x "$prc"; }
	apt-get install -y -qq --no-install-recommends $missing >&2
	[ "$had_prc" -eq 1 ] || rm -f "$prc"
}

build() {
	if [ ! -x configure ] || [ configure.ac -nt configure ]; then
		autoreconf -fi >&2
	fi
	if [ ! -f Makefile ] || [ configure -nt config.status ]; then
		./configure ${CONFIGURE_FLAGS:-} >&2
	fi
	make -j"$(nproc)" >&2
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
run)
	install_deps
	build
	mkdir -p data
	exec ./tinyprom --web.listen-address=127.0.0.1:9090 --storage.tsdb.path=./data "$@"
	;;
check)
	install_deps
	build
	rc=0
	make -j"$(nproc)" check >&2 || rc=1
	if [ "$rc" -ne 0 ]; then
		# Show what failed: the per-test logs of failures.
		grep -l -E '^(FAIL|ERROR|not ok)' $(find . -name '*.log' -not -name 'config.log' -not -name 'test-suite.log') 2>/dev/null |
			while read -r f; do echo "=== $f" >&2; tail -n 60 "$f" >&2; done
	fi
	tests/summary.sh test-suite.log || rc=1
	exit $rc
	;;
build)
	install_deps
	build
	;;
*)
	echo "usage: $0 run|check|build" >&2
	exit 2
	;;
esac
