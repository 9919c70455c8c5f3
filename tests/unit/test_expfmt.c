#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
static void test_dummy(void **s) { (void)s; }
int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_dummy) };
	return cmocka_run_group_tests_name("expfmt", tests, NULL, NULL);
}
