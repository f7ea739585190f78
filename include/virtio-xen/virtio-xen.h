/* SPDX-License-Identifier: MIT */
/*
 * virtio-xen/virtio-xen.h — umbrella header: includes every public header of libvirtio-xen.
 *
 * Layers (each may use only those above it in this list):
 *   log, version   reporting and version
 *   vq, iov        L1: device side of the split virtqueue, on any memory
 *   gdma           L2: grant-DMA addresses to host memory (gntdev maps, grant copy, foreign maps)
 *   mmio           L3: the virtio-mmio register file and status state machine
 *   ioreq          L4: Xen ioreq server, MMIO dispatch and interrupt injection
 *   dev, xs, loop  L5: device objects, xenstore discovery, an optional event loop
 */
#ifndef VIRTIO_XEN_VIRTIO_XEN_H
#define VIRTIO_XEN_VIRTIO_XEN_H

#include <virtio-xen/version.h>
#include <virtio-xen/log.h>
#include <virtio-xen/iov.h>
#include <virtio-xen/vq.h>
#include <virtio-xen/gdma.h>
#include <virtio-xen/mmio.h>
#include <virtio-xen/ioreq.h>
#include <virtio-xen/dev.h>
#include <virtio-xen/xs.h>
#include <virtio-xen/loop.h>

#endif /* VIRTIO_XEN_VIRTIO_XEN_H */
