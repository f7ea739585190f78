/* SPDX-License-Identifier: MIT */
/*
 * xl.c — xensim's simulated toolstack: the xenstore writes libxl makes for domains and virtio
 * devices (tools/libs/light: libxl__domain_make, libxl__device_generic_add with the entries of
 * libxl_virtio.c / libxl_disk.c, libxl__device_destroy, libxl__xs_path_cleanup), over the real
 * wire protocol, as dom0, one transaction per step retried on EAGAIN like libxl.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xen/io/xs_wire.h>

#include "xensim.h"
#include "xl_internal.h"
#include "xs_client.h"

#define XL_TXN_RETRIES 1000 /* libxl retries forever; a bound keeps a broken store from hanging */

struct xs_perm_pair {
	uint32_t id;
	char letter; /* 'n', 'r', 'w', 'b' */
};

/* ----------------------------------------------------------------------------------------- */
/* xenstore primitives (libxl's xs_* calls)                                                   */

static int xs_write_str(struct xs_client *c, uint32_t tx, const char *path, const char *val)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)path, .iov_len = strlen(path) + 1 },
		{ .iov_base = (void *)val, .iov_len = strlen(val) },
	};

	return xs_client_request(c, XS_WRITE, tx, iov, 2, NULL, NULL);
}

/* xs_rm() as libxl uses it: a node that is already gone is fine. */
static int xs_rm_quiet(struct xs_client *c, uint32_t tx, const char *path)
{
	int rc = xs_client_req_str(c, XS_RM, tx, path, NULL, NULL);

	return rc == -ENOENT ? 0 : rc;
}

static int xs_set_perms(struct xs_client *c, uint32_t tx, const char *path,
			const struct xs_perm_pair *p, unsigned int n)
{
	char buf[4][16];
	struct iovec iov[5] = { { .iov_base = (void *)path, .iov_len = strlen(path) + 1 } };

	for (unsigned int i = 0; i < n && i < 4; i++) {
		int l = snprintf(buf[i], sizeof(buf[i]), "%c%u", p[i].letter, p[i].id);

		iov[i + 1] = (struct iovec){ .iov_base = buf[i], .iov_len = (size_t)l + 1 };
	}
	return xs_client_request(c, XS_SET_PERMS, tx, iov, 1 + (n < 4 ? n : 4), NULL, NULL);
}

/* libxl__xs_mkdir(): mkdir, then set the permissions. */
static int xs_mkdir_perms(struct xs_client *c, uint32_t tx, const char *path,
			  const struct xs_perm_pair *p, unsigned int n)
{
	int rc = xs_client_req_str(c, XS_MKDIR, tx, path, NULL, NULL);

	return rc ? rc : xs_set_perms(c, tx, path, p, n);
}

static int xs_exists(struct xs_client *c, uint32_t tx, const char *path)
{
	char *v = NULL;
	int rc = xs_client_req_str(c, XS_READ, tx, path, &v, NULL);

	free(v);
	return rc == -ENOENT ? 0 : rc ? rc : 1;
}

/*
 * libxl__xs_path_cleanup(): remove @path, then each parent that is left with an empty value
 * and no children.
 */
static int xs_path_cleanup(struct xs_client *c, uint32_t tx, const char *path)
{
	char *p = strdup(path), *slash;
	int rc = p ? xs_rm_quiet(c, tx, p) : -ENOMEM;

	while (!rc && (slash = strrchr(p, '/')) && slash != p) {
		char *val = NULL;
		unsigned int vlen = 0, dlen = 0;

		*slash = '\0';
		if (xs_client_req_str(c, XS_READ, tx, p, &val, &vlen) || vlen) {
			free(val);
			break;
		}
		free(val);
		val = NULL;
		if (xs_client_req_str(c, XS_DIRECTORY, tx, p, &val, &dlen) || dlen) {
			free(val);
			break;
		}
		free(val);
		rc = xs_rm_quiet(c, tx, p);
	}
	free(p);
	return rc;
}

typedef int (*txn_body)(struct xs_client *c, uint32_t tx, const void *arg);

/* Run @body in a transaction, retrying on EAGAIN as libxl__xs_transaction_commit's users do. */
static int in_txn(struct xs_client *c, txn_body body, const void *arg)
{
	for (int i = 0; i < XL_TXN_RETRIES; i++) {
		char *id = NULL;
		uint32_t tx;
		int rc = xs_client_req_str(c, XS_TRANSACTION_START, 0, "", &id, NULL);

		if (rc)
			return rc;
		tx = (uint32_t)strtoul(id, NULL, 10);
		free(id);
		rc = body(c, tx, arg);
		if (rc) {
			xs_client_req_str(c, XS_TRANSACTION_END, tx, "F", NULL, NULL);
			return rc;
		}
		rc = xs_client_req_str(c, XS_TRANSACTION_END, tx, "T", NULL, NULL);
		if (rc != -EAGAIN)
			return rc;
	}
	return -EAGAIN;
}

static int with_dom0_conn(txn_body body, const void *arg)
{
	struct xs_client *c;
	int rc = xs_client_open(&c, NULL, 0);

	if (rc)
		return rc;
	rc = in_txn(c, body, arg);
	xs_client_close(c);
	return rc;
}

/* ----------------------------------------------------------------------------------------- */
/* Domains                                                                                    */

struct dom_args {
	uint32_t domid;
	const char *name;
};

static int domain_make(struct xs_client *c, uint32_t tx, const void *arg)
{
	const struct dom_args *a = arg;
	const struct xs_perm_pair roperm[2] = { { 0, 'n' }, { a->domid, 'r' } };
	const struct xs_perm_pair rwperm[1] = { { a->domid, 'n' } };
	const struct xs_perm_pair noperm[1] = { { 0, 'n' } };
	char dom[32], lx[32], p[64];
	int rc;

	snprintf(dom, sizeof(dom), "/local/domain/%u", a->domid);
	snprintf(lx, sizeof(lx), "/libxl/%u", a->domid);
	rc = xs_rm_quiet(c, tx, dom);
	if (!rc)
		rc = xs_mkdir_perms(c, tx, dom, roperm, 2);
	if (!rc)
		rc = xs_rm_quiet(c, tx, lx);
	if (!rc)
		rc = xs_mkdir_perms(c, tx, lx, noperm, 1);
	if (!rc && a->name) {
		snprintf(p, sizeof(p), "%s/name", dom);
		rc = xs_write_str(c, tx, p, a->name);
	}
	if (!rc) {
		snprintf(p, sizeof(p), "%s/device", dom);
		rc = xs_mkdir_perms(c, tx, p, roperm, 2);
	}
	if (!rc) {
		snprintf(p, sizeof(p), "%s/data", dom);
		rc = xs_mkdir_perms(c, tx, p, rwperm, 1);
	}
	if (!rc) {
		char id[16];

		snprintf(p, sizeof(p), "%s/domid", dom);
		snprintf(id, sizeof(id), "%u", a->domid);
		rc = xs_write_str(c, tx, p, id);
	}
	return rc;
}

int xensim__xl_domain_created(uint32_t domid, const char *name)
{
	const struct dom_args a = { .domid = domid, .name = name };

	return with_dom0_conn(domain_make, &a);
}

static int domain_unmake(struct xs_client *c, uint32_t tx, const void *arg)
{
	const struct dom_args *a = arg;
	char p[32];
	int rc;

	snprintf(p, sizeof(p), "/local/domain/%u", a->domid);
	rc = xs_rm_quiet(c, tx, p);
	snprintf(p, sizeof(p), "/libxl/%u", a->domid);
	return rc ? rc : xs_rm_quiet(c, tx, p);
}

int xensim__xl_domain_destroyed(uint32_t domid)
{
	const struct dom_args a = { .domid = domid };

	return with_dom0_conn(domain_unmake, &a);
}

/* ----------------------------------------------------------------------------------------- */
/* Devices                                                                                    */

struct kv {
	const char *key;
	char val[64];
	const char *sval; /* used instead of val when set */
};

struct dev_paths {
	char fe[96], be[128], lx[96];
};

static const char *kind_name(const struct xensim_virtio_dev *d)
{
	return d->kind == XENSIM_VIRTIO_DISK ? "virtio_disk" : "virtio";
}

static void dev_paths(const struct xensim_virtio_dev *d, struct dev_paths *p)
{
	const char *k = kind_name(d);

	snprintf(p->fe, sizeof(p->fe), "/local/domain/%u/device/%s/%u", d->frontend_domid, k,
		 d->devid);
	snprintf(p->be, sizeof(p->be), "/local/domain/%u/backend/%s/%u/%u", d->backend_domid, k,
		 d->frontend_domid, d->devid);
	snprintf(p->lx, sizeof(p->lx), "/libxl/%u/device/%s/%u", d->frontend_domid, k, d->devid);
}

/* Bijective base-26 disk letters as libxl's encode_disk_name(): 0 a, 25 z, 26 aa, ... */
static void disk_letters(unsigned int n, char *out)
{
	char tmp[8];
	int i = 0;

	do {
		tmp[i++] = (char)('a' + n % 26);
		n = n / 26;
	} while (n-- && i < 7);
	while (i)
		*out++ = tmp[--i];
	*out = '\0';
}

/* The vdev name libxl would have parsed into @devid (xvd encodings; small ids as disk index). */
static void vdev_name(uint32_t devid, char *out, size_t size)
{
	unsigned int disk = devid, part = 0;
	char letters[8];

	if (devid & (1u << 28)) {
		disk = (devid >> 8) & 0xfffff;
		part = devid & 0xff;
	} else if ((devid >> 8) == 202) {
		disk = (devid >> 4) & 0xf;
		part = devid & 0xf;
	}
	disk_letters(disk, letters);
	if (part)
		snprintf(out, size, "xvd%s%u", letters, part);
	else
		snprintf(out, size, "xvd%s", letters);
}

static void fmt_base(const struct xensim_virtio_dev *d, char *buf, size_t size)
{
	if (d->base_hex)
		snprintf(buf, size, "%#" PRIx64, d->base);
	else
		snprintf(buf, size, "%" PRIu64, d->base);
}

#define KV(k, ...) (kv[n].key = (k), snprintf(kv[n].val, sizeof(kv[n].val), __VA_ARGS__), n++)
#define KVS(k, s)  (kv[n].key = (k), kv[n].sval = (s), n++)

/* libxl__device_add_async()'s generic entries plus libxl__set_xenstore_virtio()'s. */
static unsigned int generic_back(const struct xensim_virtio_dev *d, struct kv *kv)
{
	unsigned int n = 0;

	KV("frontend-id", "%u", d->frontend_domid);
	KVS("online", "1");
	KVS("state", "1");
	KV("irq", "%u", d->irq);
	kv[n].key = "base";
	fmt_base(d, kv[n++].val, sizeof(kv[0].val));
	KV("type", "virtio,device%x", d->virtio_id); /* DT compatible: id in hex */
	KVS("transport", "mmio");
	if (d->grant_usage >= 0)
		KVS("grant_usage", d->grant_usage ? "1" : "0");
	return n;
}

/* device_disk_add()'s backend entries for backendtype=standalone, specification=virtio. */
static unsigned int disk_back(const struct xensim_virtio_dev *d, struct kv *kv)
{
	bool rw = !d->mode || !strcmp(d->mode, "w");
	unsigned int n = 0;

	KVS("params", d->params);
	KV("frontend-id", "%u", d->frontend_domid);
	KVS("online", "1");
	KVS("removable", "0");
	KVS("bootable", "1");
	KVS("state", "1");
	kv[n].key = "dev";
	vdev_name(d->devid, kv[n++].val, sizeof(kv[0].val));
	KVS("type", "standalone");
	KVS("mode", rw ? "w" : "r");
	KVS("device-type", "disk");
	KVS("discard-enable", rw ? "1" : "0");
	KVS("specification", "virtio");
	KVS("transport", "mmio");
	kv[n].key = "base";
	fmt_base(d, kv[n++].val, sizeof(kv[0].val));
	KV("irq", "%u", d->irq);
	if (d->grant_usage >= 0)
		KVS("grant_usage", d->grant_usage ? "1" : "0");
	return n;
}

static unsigned int front_entries(const struct xensim_virtio_dev *d, struct kv *kv)
{
	unsigned int n = 0;

	KV("backend-id", "%u", d->backend_domid);
	KVS("state", "1");
	if (d->kind == XENSIM_VIRTIO_DISK) {
		KV("virtual-device", "%u", d->devid);
		KVS("device-type", "disk");
		KVS("trusted", "1");
	}
	return n;
}

#undef KV
#undef KVS

/* libxl__xs_writev(_perms)(): write each key under @dir (then set @p on it, if given). */
static int xs_writev(struct xs_client *c, uint32_t tx, const char *dir, const struct kv *kv,
		     unsigned int n, const struct xs_perm_pair *p, unsigned int np)
{
	int rc = 0;

	for (unsigned int i = 0; !rc && i < n; i++) {
		char path[192];

		snprintf(path, sizeof(path), "%s/%s", dir, kv[i].key);
		rc = xs_write_str(c, tx, path, kv[i].sval ? kv[i].sval : kv[i].val);
		if (!rc && p)
			rc = xs_set_perms(c, tx, path, p, np);
	}
	return rc;
}

static int join_write(struct xs_client *c, uint32_t tx, const char *dir, const char *key,
		      const char *val)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return xs_write_str(c, tx, path, val);
}

/* libxl__device_generic_add(), in its order. */
static int device_add(struct xs_client *c, uint32_t tx, const void *arg)
{
	const struct xensim_virtio_dev *d = arg;
	const struct xs_perm_pair fe_perms[2] = { { d->frontend_domid, 'n' },
						  { d->backend_domid, 'r' } };
	const struct xs_perm_pair be_perms[2] = { { d->backend_domid, 'n' },
						  { d->frontend_domid, 'r' } };
	struct kv back[20] = { 0 }, front[8] = { 0 };
	unsigned int nb =
		d->kind == XENSIM_VIRTIO_DISK ? disk_back(d, back) : generic_back(d, back);
	unsigned int nf = front_entries(d, front);
	struct dev_paths p;
	int rc;

	dev_paths(d, &p);
	rc = xs_exists(c, tx, p.lx);
	if (rc)
		return rc > 0 ? -EEXIST : rc; /* libxl: "device already exists in xenstore" */
	rc = xs_rm_quiet(c, tx, p.lx);
	if (!rc)
		rc = join_write(c, tx, p.lx, "frontend", p.fe);
	if (!rc)
		rc = join_write(c, tx, p.lx, "backend", p.be);
	if (!rc)
		rc = xs_rm_quiet(c, tx, p.fe);
	if (!rc)
		rc = xs_mkdir_perms(c, tx, p.fe, fe_perms, 2);
	if (!rc)
		rc = join_write(c, tx, p.fe, "backend", p.be);
	if (!rc)
		rc = xs_writev(c, tx, p.fe, front, nf, fe_perms, 2);
	if (!rc)
		rc = xs_rm_quiet(c, tx, p.be);
	if (!rc)
		rc = xs_mkdir_perms(c, tx, p.be, be_perms, 2);
	if (!rc)
		rc = join_write(c, tx, p.be, "frontend", p.fe);
	if (!rc)
		rc = xs_writev(c, tx, p.be, back, nb, NULL, 0);
	if (!rc)
		rc = xs_writev(c, tx, p.lx, back, nb, NULL, 0);
	return rc;
}

static int check_dev(const struct xensim_virtio_dev *d)
{
	if (!d || d->version != XENSIM_VIRTIO_DEV_VERSION)
		return -EINVAL;
	if (d->kind != XENSIM_VIRTIO_GENERIC && d->kind != XENSIM_VIRTIO_DISK)
		return -EINVAL;
	if (d->kind == XENSIM_VIRTIO_DISK && (!d->params || strlen(d->params) > 2048))
		return -EINVAL;
	if (d->mode && strcmp(d->mode, "w") && strcmp(d->mode, "r"))
		return -EINVAL;
	if (d->grant_usage < -1 || d->grant_usage > 1)
		return -EINVAL;
	return 0;
}

int xensim_xl_add_virtio(xensim *x, const struct xensim_virtio_dev *dev)
{
	int rc = check_dev(dev);

	return rc ? rc : with_dom0_conn(device_add, dev);
}

/* libxl__device_destroy() for a device whose backend and toolstack are both dom0's view. */
static int device_destroy(struct xs_client *c, uint32_t tx, const void *arg)
{
	struct dev_paths p;
	int rc;

	dev_paths(arg, &p);
	rc = xs_path_cleanup(c, tx, p.fe);
	if (!rc)
		rc = xs_path_cleanup(c, tx, p.be);
	return rc ? rc : xs_path_cleanup(c, tx, p.lx);
}

int xensim_xl_remove_virtio(xensim *x, const struct xensim_virtio_dev *dev)
{
	int rc = check_dev(dev);

	return rc ? rc : with_dom0_conn(device_destroy, dev);
}

/* Every backend directory any domain holds for frontend @domid. */
static int destroy_backends(struct xs_client *c, uint32_t tx, const void *arg)
{
	const uint32_t *domid = arg;
	static const char *const kinds[] = { "virtio", "virtio_disk" };
	char *doms = NULL;
	unsigned int len = 0;
	int rc = xs_client_req_str(c, XS_DIRECTORY, tx, "/local/domain", &doms, &len);

	for (const char *d = doms; !rc && d && d < doms + len; d += strlen(d) + 1) {
		for (size_t k = 0; !rc && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			char path[128];

			snprintf(path, sizeof(path), "/local/domain/%s/backend/%s/%u", d, kinds[k],
				 *domid);
			if (xs_exists(c, tx, path) > 0)
				rc = xs_path_cleanup(c, tx, path);
		}
	}
	free(doms);
	return rc == -ENOENT ? 0 : rc;
}

int xensim_xl_destroy(xensim *x, uint32_t domid)
{
	int rc = with_dom0_conn(destroy_backends, &domid);

	if (!rc)
		rc = xensim__xl_domain_destroyed(domid);
	if (!rc)
		rc = xensim_domain_destroy(x, domid);
	return rc;
}

/* ----------------------------------------------------------------------------------------- */
/* Waiting                                                                                    */

/* 1 if @path holds @value (or is absent when @value is NULL), 0 if not, -errno. */
static int xs_matches(struct xs_client *c, const char *path, const char *value)
{
	char *v = NULL;
	unsigned int len = 0;
	int rc = xs_client_req_str(c, XS_READ, 0, path, &v, &len);

	if (rc == -ENOENT)
		return value == NULL;
	if (!rc)
		rc = value && len == strlen(value) && !memcmp(v, value, len);
	free(v);
	return rc;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int xensim_xs_wait(xensim *x, const char *path, const char *value, int timeout_ms)
{
	static const char token[] = "xensim-xs-wait";
	struct iovec iov[2] = {
		{ .iov_base = (void *)path, .iov_len = path ? strlen(path) + 1 : 0 },
		{ .iov_base = (void *)token, .iov_len = sizeof(token) },
	};
	int64_t deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	struct xs_client *c;
	int rc;

	if (!path)
		return -EINVAL;
	rc = xs_client_open(&c, NULL, 0);
	if (rc)
		return rc;
	rc = xs_client_request(c, XS_WATCH, 0, iov, 2, NULL, NULL);
	while (!rc) {
		char *ev = NULL;
		int64_t left = deadline - now_ms();

		rc = xs_matches(c, path, value);
		if (rc)
			break;
		if (timeout_ms >= 0 && left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		rc = xs_client_next_event(c, timeout_ms < 0 ? -1 : (int)left, &ev, NULL);
		free(ev);
		if (rc == -EAGAIN)
			rc = 0; /* time is checked at the top */
	}
	xs_client_close(c);
	return rc > 0 ? 0 : rc;
}
