/* SPDX-License-Identifier: MIT */
/*
 * examples/blk/blk.h — the virtio-blk device of virtio-xen-blk, as main.c sees it.
 */
#ifndef BLK_H
#define BLK_H

#include <stdbool.h>
#include <stddef.h>

#include <virtio-xen/loop.h>

#include "blk_io.h"

#define BLK_MAX_QUEUES 16

/* Daemon-wide settings from the command line; the payload of blk_create(). */
struct blk_opts {
	const char *image;  /* explicit mode: the image (discovery: xenstore params) */
	const char *serial; /* explicit mode: GET_ID string (default: the image's file name) */
	bool read_only;	    /* force read-only (discovery: also when mode is not "w") */
	unsigned int queues;
	unsigned int threads; /* workers of the threads engine */
	enum blk_io_kind io;
};

/**
 * blk_create() - open the image named by @info->params (read-only unless @info->writable and
 * not @payload's read_only) and create its virtio-blk device on @cfg. Writes "<path> <size>
 * ro|rw, ..." into @desc. Returns 0 or -errno (logged). Signature of struct vxd_daemon.create.
 */
int blk_create(vxen_loop *loop, const struct vxen_xs_device *info,
	       const struct vxen_dev_config *cfg, vxen_dev **out, char *desc, size_t desc_size,
	       void *payload);

/** blk_destroy() - reset the device (waiting for its I/O), free it, close the image. */
void blk_destroy(vxen_dev *dev, void *payload);

#endif /* BLK_H */
