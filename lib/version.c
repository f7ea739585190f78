/* SPDX-License-Identifier: MIT */
#include <virtio-xen/version.h>

#include "internal.h"

VXEN_EXPORT const char *vxen_version(void)
{
	return VXEN_VERSION_STRING;
}
