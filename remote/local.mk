# remote/local.mk - remote write / remote read codec (protobuf-c + snappy).
# remote.pb-c.[ch] are generated from remote.proto by protoc-c.
BUILT_SOURCES += remote/remote.pb-c.c remote/remote.pb-c.h
CLEANFILES += remote/remote.pb-c.c remote/remote.pb-c.h
EXTRA_DIST += remote/remote.proto
libtinyprom_a_SOURCES += remote/codec.c remote/codec.h remote/wire.c remote/wire.h remote/xor.c remote/xor.h
include remote/sender.mk
nodist_libtinyprom_a_SOURCES = remote/remote.pb-c.c remote/remote.pb-c.h

remote/remote.pb-c.c remote/remote.pb-c.h: $(srcdir)/remote/remote.proto
	$(AM_V_GEN)$(MKDIR_P) remote && \
	$(PROTOC_C) --c_out=remote --proto_path=$(srcdir)/remote $(srcdir)/remote/remote.proto

check_PROGRAMS += tests/unit/test_remote
TESTS += tests/unit/test_remote
tests_unit_test_remote_SOURCES = tests/unit/test_remote.c tests/support/xor_decode.c tests/support/xor_decode.h
tests_unit_test_remote_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_remote_LDADD = $(TEST_LDADD)

if FUZZING
# libFuzzer target for the remote-write receiver (see the file's header)
noinst_PROGRAMS += tests/fuzz/fuzz_remote_write
tests_fuzz_fuzz_remote_write_SOURCES = tests/fuzz/fuzz_remote_write.c remote/codec.c remote/wire.c remote/xor.c
nodist_tests_fuzz_fuzz_remote_write_SOURCES = remote/remote.pb-c.c
tests_fuzz_fuzz_remote_write_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_remote_write_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_remote_write_LDADD = libtinyprom.a $(DEP_LIBS)
endif
