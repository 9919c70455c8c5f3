# bench/local.mk - benchmark programs (built by `make bench`, not installed).
