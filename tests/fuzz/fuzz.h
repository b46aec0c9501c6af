/* What every fuzz target shares: an invariant that does not hold is a
 * finding, so it aborts (libFuzzer then saves the input). */
#ifndef TG_FUZZ_H
#define TG_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

static void broken(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			broken(__FILE__, __LINE__, #c);                                            \
	} while (0)

#endif
