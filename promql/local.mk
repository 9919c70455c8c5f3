# promql/local.mk - PromQL: parser (parser.mk), engine (engine.mk) and the
# promqltest runner (promqltest.mk), each fragment owned by its piece.
include promql/parser.mk
include promql/engine.mk
include promql/promqltest.mk
