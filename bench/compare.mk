# bench/compare.mk - side-by-side runs against Prometheus 2.42 on the same
# data: rw-push loads a dataset into any remote-write receiver.
noinst_PROGRAMS += bench/rw-push
bench_rw_push_SOURCES = bench/rw-push.c bench/dataset.c bench/dataset.h tests/support/rwclient.c \
	tests/support/rwclient.h
bench_rw_push_LDADD = libtinyprom.a $(DEP_LIBS)
EXTRA_DIST += bench/compare-ingest.sh
