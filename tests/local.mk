# tests/local.mk - suite-wide pieces; module unit tests live in their
# module's fragment.
EXTRA_DIST += tests/summary.sh
