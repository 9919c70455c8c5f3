# config/local.mk - prometheus.yml and flags -> C structs.
