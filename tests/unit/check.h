/* The unit tests' few assertions: each counts, a failure says where and
 * what, and check_report() prints the closing "NAME: N passed, M failed"
 * line that CI reads. Included once per test program. */
#ifndef TG_TEST_CHECK_H
#define TG_TEST_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int passed, failed;

static void check_at(const char *file, int line, int ok, const char *what)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, what);
}

static void streq_at(const char *file, int line, const char *got, const char *want)
{
	if (strcmp(got, want) == 0) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "%s:%d: got  \"%s\"\n%*s want \"%s\"\n", file, line, got,
		(int)strlen(file) + 4, "", want);
}

/* Prints the closing line; the exit status for main. */
static int check_report(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, passed, failed);
	return failed ? 1 : 0;
}

#define CHECK(cond)	 check_at(__FILE__, __LINE__, (cond) != 0, #cond)
#define STREQ(got, want) streq_at(__FILE__, __LINE__, (got), (want))
#define IP(a, b, c, d)                                                                             \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

#endif
