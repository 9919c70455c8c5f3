# tsdb/local.mk - storage: chunks, head, index, querier.
