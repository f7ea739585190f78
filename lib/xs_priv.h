/* SPDX-License-Identifier: MIT */
/*
 * lib/xs_priv.h — pure parsers for the values libxl writes into xenstore, shared by lib/xs.c,
 * the unit tests and the fuzzers. Not installed, not exported.
 *
 * Every parser takes a NUL-terminated string (NULL where "absent" has a meaning), accepts only
 * the exact forms documented, and returns 0 or -EINVAL (-ERANGE for a well-formed number that
 * does not fit). No parser allocates, logs or keeps a pointer to its input. On error the output
 * is untouched.
 */
#ifndef VXEN_XS_PRIV_H
#define VXEN_XS_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* xenbus states (xen/io/xenbus.h). */
enum vxen_xenbus_state {
	VXEN_XB_UNKNOWN = 0,
	VXEN_XB_INITIALISING = 1,
	VXEN_XB_INITWAIT = 2,
	VXEN_XB_INITIALISED = 3,
	VXEN_XB_CONNECTED = 4,
	VXEN_XB_CLOSING = 5,
	VXEN_XB_CLOSED = 6,
	VXEN_XB_RECONFIGURING = 7,
	VXEN_XB_RECONFIGURED = 8,
};

/*
 * Canonical unsigned decimal: digits only, no sign, no spaces, no leading zero (except "0"
 * itself — "010" would be octal to libxl's own strtoul(.., 0) reader), value <= @max.
 * Used for irq, domids, devids, states, online.
 */
int vxen_xs_parse_dec(const char *s, uint64_t max, uint64_t *out);

/*
 * A 64-bit address: canonical decimal (as above) or "0x"/"0X" followed by 1-16 significant hex
 * digits (leading zeros allowed after the prefix). Used for `base`.
 */
int vxen_xs_parse_addr(const char *s, uint64_t *out);

/*
 * `type` of a generic device: "virtio,device" followed by the virtio device id in lower-case hex
 * (1-8 digits, the device-tree binding's form, so "virtio,device1a" is id 26), or
 * "virtio,device" alone, which gives id 0 ("the application decides").
 */
int vxen_xs_parse_type(const char *s, uint32_t *virtio_id);

/* `transport`: exactly "mmio" (the only transport libxl defines). */
int vxen_xs_parse_transport(const char *s);

/*
 * `grant_usage`: "0" or "1"; NULL (absent, older tools) gives libxl's default: grants iff the
 * backend is not dom0.
 */
int vxen_xs_parse_grant_usage(const char *s, uint32_t backend_domid, bool *grants);

/* Disk `mode`: "w" (writable) or "r" (read-only), exactly. */
int vxen_xs_parse_mode(const char *s, bool *writable);

/* A xenbus `state` value: canonical decimal 0-8. */
int vxen_xs_parse_state(const char *s, enum vxen_xenbus_state *state);

/*
 * `frontend`: must be "/local/domain/<fe>/device/<kind_dir>/<devid>" for the device's own
 * frontend domid, kind directory and devid — anything else would let a bad entry make us watch
 * or read another domain's nodes.
 */
int vxen_xs_check_frontend(const char *s, uint32_t fe, const char *kind_dir, uint32_t devid);

/*
 * Split a watch-event path below @root (".../backend/<kind_dir>", no trailing slash) into the
 * frontend domid and devid directory names it names. Returns the depth: 0 for @root itself,
 * 1 for "<root>/<fe>", 2 for "<root>/<fe>/<devid>" or anything below it; -EINVAL if the path is
 * not below @root or a component is not a canonical decimal of the right range.
 */
int vxen_xs_split_path(const char *path, const char *root, uint32_t *fe, uint32_t *devid);

#endif /* VXEN_XS_PRIV_H */
