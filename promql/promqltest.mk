# promql/promqltest.mk - the promqltest file runner and its suites.
