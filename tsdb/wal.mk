# tsdb/wal.mk - write-ahead log, checkpoints, replay.
