/* SPDX-License-Identifier: MIT */
/*
 * Strict parsers for the xenstore values of virtio devices (see xs_priv.h). Pure functions:
 * everything here is reachable by a fuzzer with arbitrary strings.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xs_priv.h"

/* Domain ids at or above DOMID_FIRST_RESERVED (0x7ff0) never name an ordinary domain. */
#define DOMID_MAX 0x7fefu

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hex_val(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decimal digits of @s up to @end (exclusive, NULL = NUL), canonical, <= @max. */
static int parse_dec_n(const char *s, const char *end, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (!s || p == end || !is_digit(*p))
		return -EINVAL;
	if (*p == '0' && p + 1 != end && p[1] != '\0')
		return -EINVAL; /* leading zero: ambiguous (octal to strtoul(.., 0)) */
	for (; p != end && *p; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (!is_digit(*p))
			return -EINVAL;
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int vxen_xs_parse_dec(const char *s, uint64_t max, uint64_t *out)
{
	return parse_dec_n(s, NULL, max, out);
}

/* Hex digits of @s (at least one, NUL-terminated); leading zeros allowed. */
static int parse_hex(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		int d = hex_val(*s);

		if (d < 0)
			return -EINVAL;
		if (v >> 60)
			return -ERANGE;
		v = (v << 4) | (uint64_t)d;
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int vxen_xs_parse_addr(const char *s, uint64_t *out)
{
	if (!s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return parse_hex(s + 2, UINT64_MAX, out);
	return vxen_xs_parse_dec(s, UINT64_MAX, out);
}

int vxen_xs_parse_type(const char *s, uint32_t *virtio_id)
{
	static const char prefix[] = "virtio,device";
	uint64_t v;
	size_t n;

	if (!s || strncmp(s, prefix, sizeof(prefix) - 1))
		return -EINVAL;
	s += sizeof(prefix) - 1;
	if (!*s) {
		*virtio_id = 0;
		return 0;
	}
	/* The device-tree binding: [0-9a-f]{1,8}, lower case only. */
	n = strlen(s);
	if (n > 8 || strspn(s, "0123456789abcdef") != n)
		return -EINVAL;
	if (parse_hex(s, UINT32_MAX, &v))
		return -EINVAL;
	*virtio_id = (uint32_t)v;
	return 0;
}

int vxen_xs_parse_transport(const char *s)
{
	return s && !strcmp(s, "mmio") ? 0 : -EINVAL;
}

int vxen_xs_parse_grant_usage(const char *s, uint32_t backend_domid, bool *grants)
{
	if (!s) {
		/* libxl's default when the key is absent: a dom0 backend maps guest memory. */
		*grants = backend_domid != 0;
		return 0;
	}
	if (!strcmp(s, "0") || !strcmp(s, "1")) {
		*grants = s[0] == '1';
		return 0;
	}
	return -EINVAL;
}

int vxen_xs_parse_mode(const char *s, bool *writable)
{
	if (!s || (strcmp(s, "w") && strcmp(s, "r")))
		return -EINVAL;
	*writable = s[0] == 'w';
	return 0;
}

int vxen_xs_parse_state(const char *s, enum vxen_xenbus_state *state)
{
	uint64_t v;
	int r = vxen_xs_parse_dec(s, VXEN_XB_RECONFIGURED, &v);

	if (r)
		return -EINVAL;
	*state = (enum vxen_xenbus_state)v;
	return 0;
}

int vxen_xs_check_frontend(const char *s, uint32_t fe, const char *kind_dir, uint32_t devid)
{
	char want[96];
	int n = snprintf(want, sizeof(want), "/local/domain/%u/device/%s/%u", fe, kind_dir, devid);

	if (!s || n < 0 || (size_t)n >= sizeof(want))
		return -EINVAL;
	return strcmp(s, want) ? -EINVAL : 0;
}

/* Parse one path component [p, '/' or NUL) as a canonical decimal <= max; advance *pp. */
static int component(const char **pp, uint64_t max, uint32_t *out)
{
	const char *p = *pp, *end = strchr(p, '/');
	uint64_t v;

	if (!end)
		end = p + strlen(p);
	if (parse_dec_n(p, end, max, &v))
		return -EINVAL;
	*out = (uint32_t)v;
	*pp = end;
	return 0;
}

int vxen_xs_split_path(const char *path, const char *root, uint32_t *fe, uint32_t *devid)
{
	size_t n;
	const char *p;

	if (!path || !root)
		return -EINVAL;
	n = strlen(root);
	if (strncmp(path, root, n))
		return -EINVAL;
	p = path + n;
	if (!*p)
		return 0;
	if (*p++ != '/' || component(&p, DOMID_MAX, fe))
		return -EINVAL;
	if (!*p)
		return 1;
	if (*p++ != '/' || component(&p, UINT32_MAX, devid))
		return -EINVAL;
	/* Anything below the device directory is about that device. */
	return !*p || *p == '/' ? 2 : -EINVAL;
}
