/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the xenstore value parsers (lib/xs_parse.c, lib/xs_priv.h): every value
 * the discovery code reads from xenstore goes through one of them, and a hostile or broken
 * toolstack (or a guest-writable frontend node) chooses the bytes.
 *
 * Differential: each parser is compared with an independent reference written here from the
 * contract in xs_priv.h (regular-expression style checks plus strtoull). On any disagreement —
 * accepting what the contract rejects, rejecting what it accepts, another value, touching the
 * output on error — the target traps.
 *
 * Input: byte 0 selects the parser (and, for the path functions, the kind directory); bytes 1-8
 * are a little-endian parameter (max for parse_dec, frontend domid / devid / backend domid for
 * the others); the rest, up to the first NUL, is the string.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_priv.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

#define SENTINEL  0x5a5a5a5a5a5a5a5aULL
#define DOMID_MAX 0x7fefu

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- references ---------------------------------------------------------------------------- */

static bool all_of(const char *s, size_t n, const char *set)
{
	return strspn(s, set) >= n;
}

/* Canonical decimal: "0" or [1-9][0-9]*. Sets *big when it does not fit 64 bits. */
static bool ref_dec_form(const char *s, size_t n, uint64_t *v, bool *big)
{
	char buf[64];

	if (!n || !all_of(s, n, "0123456789") || (s[0] == '0' && n > 1))
		return false;
	*big = n > 20;
	if (*big)
		return true;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	*v = strtoull(buf, NULL, 10);
	*big = errno == ERANGE;
	return true;
}

/* 0 / -EINVAL / -ERANGE as xs_priv.h describes vxen_xs_parse_dec over the whole string. */
static int ref_dec(const char *s, uint64_t max, uint64_t *v)
{
	bool big;

	if (!ref_dec_form(s, strlen(s), v, &big))
		return -EINVAL;
	return big || *v > max ? -ERANGE : 0;
}

static int ref_addr(const char *s, uint64_t *v)
{
	size_t n = strlen(s), z;

	if (n < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return ref_dec(s, UINT64_MAX, v);
	s += 2;
	n -= 2;
	if (!n || !all_of(s, n, "0123456789abcdefABCDEF"))
		return -EINVAL;
	z = strspn(s, "0");
	if (n - z > 16)
		return -ERANGE;
	*v = strtoull(s, NULL, 16);
	return 0;
}

static int ref_type(const char *s, uint32_t *id)
{
	static const char prefix[] = "virtio,device";
	size_t n;

	if (strncmp(s, prefix, sizeof(prefix) - 1))
		return -EINVAL;
	s += sizeof(prefix) - 1;
	n = strlen(s);
	if (n > 8 || !all_of(s, n, "0123456789abcdef"))
		return -EINVAL;
	*id = n ? (uint32_t)strtoul(s, NULL, 16) : 0;
	return 0;
}

/* One path component [s, s + n): canonical decimal <= max. */
static bool ref_component(const char *s, size_t n, uint64_t max, uint32_t *out)
{
	uint64_t v = 0;
	bool big;

	if (!ref_dec_form(s, n, &v, &big) || big || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

static int ref_split(const char *path, const char *root, uint32_t *fe, uint32_t *devid)
{
	size_t n = strlen(root), k;
	const char *p;

	if (strncmp(path, root, n))
		return -EINVAL;
	p = path + n;
	if (!*p)
		return 0;
	if (*p++ != '/')
		return -EINVAL;
	k = strcspn(p, "/");
	if (!ref_component(p, k, DOMID_MAX, fe))
		return -EINVAL;
	p += k;
	if (!*p)
		return 1;
	p++;
	k = strcspn(p, "/");
	if (!ref_component(p, k, UINT32_MAX, devid))
		return -EINVAL;
	return 2;
}

/* ---- the checks ---------------------------------------------------------------------------- */

/* Error codes: the contract's -ERANGE for well-formed numbers that do not fit, and some error
 * (-EINVAL per the header) for everything else. */
static void check_rc(int got, int want)
{
	CHECK(got == 0 || got == -EINVAL || got == -ERANGE);
	CHECK((got == 0) == (want == 0));
	if (want == -ERANGE)
		CHECK(got == -ERANGE);
}

static void fuzz_dec(const char *s, uint64_t max)
{
	uint64_t v = SENTINEL, rv = 0;
	int r = vxen_xs_parse_dec(s, max, &v);

	check_rc(r, ref_dec(s, max, &rv));
	CHECK(r ? v == SENTINEL : v == rv && v <= max);
}

static void fuzz_addr(const char *s)
{
	uint64_t v = SENTINEL, rv = 0;
	int r = vxen_xs_parse_addr(s, &v);

	check_rc(r, ref_addr(s, &rv));
	CHECK(r ? v == SENTINEL : v == rv);
}

static void fuzz_type(const char *s)
{
	uint32_t id = 0x5a5a5a5a, rid = 0;
	int r = vxen_xs_parse_type(s, &id);

	CHECK((r == 0) == (ref_type(s, &rid) == 0));
	CHECK(r ? id == 0x5a5a5a5a && r == -EINVAL : id == rid);
}

static void fuzz_small(const char *s, uint32_t backend)
{
	enum vxen_xenbus_state st = (enum vxen_xenbus_state)99;
	bool b = true, w = true;
	uint64_t rv = 0;
	int r;

	CHECK((vxen_xs_parse_transport(s) == 0) == !strcmp(s, "mmio"));

	r = vxen_xs_parse_grant_usage(s, backend, &b);
	CHECK((r == 0) == (!strcmp(s, "0") || !strcmp(s, "1")));
	CHECK(r ? b : b == (s[0] == '1'));
	b = false;
	CHECK(vxen_xs_parse_grant_usage(NULL, backend, &b) == 0 && b == (backend != 0));

	r = vxen_xs_parse_mode(s, &w);
	CHECK((r == 0) == (!strcmp(s, "w") || !strcmp(s, "r")));
	CHECK(r ? w : w == (s[0] == 'w'));

	r = vxen_xs_parse_state(s, &st);
	CHECK((r == 0) == (ref_dec(s, VXEN_XB_RECONFIGURED, &rv) == 0));
	CHECK(r ? st == 99 && r == -EINVAL : (uint64_t)st == rv);
}

static void fuzz_frontend(const char *s, const char *kind, uint32_t fe, uint32_t devid)
{
	char want[128];

	snprintf(want, sizeof(want), "/local/domain/%u/device/%s/%u", fe, kind, devid);
	CHECK((vxen_xs_check_frontend(s, fe, kind, devid) == 0) == !strcmp(s, want));
	CHECK(vxen_xs_check_frontend(want, fe, kind, devid) == 0);
	CHECK(vxen_xs_check_frontend(NULL, fe, kind, devid) == -EINVAL);
}

static void fuzz_split(const char *s, const char *root)
{
	uint32_t fe = 0x5a5a5a5a, devid = 0x5a5a5a5a, rfe = 0, rdevid = 0;
	int r = vxen_xs_split_path(s, root, &fe, &devid);
	int want = ref_split(s, root, &rfe, &rdevid);

	CHECK(r == want);
	if (r >= 1)
		CHECK(fe == rfe && fe <= DOMID_MAX);
	if (r == 2)
		CHECK(devid == rdevid);
	if (r < 2)
		CHECK(devid == 0x5a5a5a5a || r == -EINVAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const kinds[] = { "virtio", "virtio_disk" };
	uint64_t param = 0;
	const char *kind;
	char root[64];
	char *s;

	if (size < 9)
		return 0;
	memcpy(&param, data + 1, 8);
	kind = kinds[data[0] >> 7];
	s = malloc(size - 9 + 1); /* exact size: ASan sees any read past the NUL */
	if (!s)
		return 0;
	memcpy(s, data + 9, size - 9);
	s[size - 9] = '\0';

	switch (data[0] & 7) {
	case 0:
		fuzz_dec(s, param);
		break;
	case 1:
		fuzz_dec(s, param & 0xffff);
		break;
	case 2:
		fuzz_addr(s);
		break;
	case 3:
		fuzz_type(s);
		break;
	case 4:
		fuzz_small(s, (uint32_t)param);
		break;
	case 5:
		fuzz_frontend(s, kind, (uint32_t)param, (uint32_t)(param >> 32));
		break;
	default:
		snprintf(root, sizeof(root), "/local/domain/%u/backend/%s",
			 (uint32_t)param % (DOMID_MAX + 1), kind);
		fuzz_split(s, root);
		break;
	}
	free(s);
	return 0;
}
