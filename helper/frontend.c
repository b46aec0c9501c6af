/* The table of front ends (frontend.h), in the order argv is tried on
 * them: uml_net by its program name, QEMU by its options, and the native
 * front end takes the rest. */
#include "frontend.h"

extern const struct tg_frontend tg_frontend_uml, tg_frontend_qemu, tg_frontend_native;

static const struct tg_frontend *const frontends[] = {
    &tg_frontend_uml,
    &tg_frontend_qemu,
    &tg_frontend_native,
};

#define NFRONTENDS (sizeof(frontends) / sizeof(frontends[0]))

const struct tg_frontend *frontend_of(int argc, char **argv)
{
	for (size_t i = 0; i + 1 < NFRONTENDS; i++)
		if (frontends[i]->recognise(argc, argv))
			return frontends[i];
	return frontends[NFRONTENDS - 1];
}
