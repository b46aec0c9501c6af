#include "names.h"
#include "../policy/policy.h"

#include <grp.h>
#include <nss.h>
#include <stddef.h>

int tg_names_from_files(void)
{
	if (__nss_configure_lookup("passwd", "files") != 0 ||
	    __nss_configure_lookup("group", "files") != 0)
		return -1;
	return 0;
}

int tg_group_gid(const char *name, uint32_t *gid)
{
	char buf[4096];
	struct group gr, *grp = NULL;

	if (getgrnam_r(name, &gr, buf, sizeof(buf), &grp) != 0)
		return TG_LOOKUP_FAILED;
	if (!grp)
		return TG_LOOKUP_NONE;
	*gid = grp->gr_gid;
	return TG_LOOKUP_FOUND;
}
