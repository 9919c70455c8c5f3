# promql/engine.mk - evaluation.
