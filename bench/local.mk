# bench/local.mk - benchmark programs (built by `make`, never run by `make check`).
noinst_PROGRAMS += bench/tsdb-bench
bench_tsdb_bench_SOURCES = bench/tsdb-bench.c bench/dataset.c bench/dataset.h
bench_tsdb_bench_LDADD = libtinyprom.a $(DEP_LIBS)
EXTRA_DIST += bench/RESULTS.md
noinst_PROGRAMS += bench/wal-bench
bench_wal_bench_SOURCES = bench/wal-bench.c bench/dataset.c bench/dataset.h
bench_wal_bench_LDADD = libtinyprom.a $(DEP_LIBS)
EXTRA_DIST += bench/restart-bench.sh
noinst_PROGRAMS += bench/api-bench
bench_api_bench_SOURCES = bench/api-bench.c tests/support/rwclient.c tests/support/rwclient.h
bench_api_bench_LDADD = libtinyprom.a $(DEP_LIBS)
EXTRA_DIST += bench/api-bench.sh
# promql-load (built from promql/engine.mk) posts through the shared client.
bench_promql_load_SOURCES += tests/support/rwclient.c tests/support/rwclient.h
