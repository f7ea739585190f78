/* SPDX-License-Identifier: MIT */
/* virtio-xen/version.h — library version. */
#ifndef VIRTIO_XEN_VERSION_H
#define VIRTIO_XEN_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/**
 * vxen_version() - the version of the library that is running, e.g. "0.1.0".
 *
 * Returns a static string; never NULL. Thread-safe. Does not log.
 */
const char *vxen_version(void);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIO_XEN_VERSION_H */
