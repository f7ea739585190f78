/* SPDX-License-Identifier: MIT */
/*
 * xendevicemodel.c — xensim's drop-in libxendevicemodel.so.1.
 *
 * Every modelled operation is one request to the machine (one DM op hypercall on real Xen).
 * xendevicemodel_restrict() is kept locally, as privcmd's restriction is: afterwards,
 * operations on another domain fail with EPERM. Operations xensim does not model fail with
 * ENOSYS.
 */
#include <errno.h>
#include <stdlib.h>

#include <xendevicemodel.h>

#include "dropin.h"

struct xendevicemodel_handle {
	struct hvc *c;
	struct dropin_restriction rs;
};

DROPIN_EXPORT xendevicemodel_handle *xendevicemodel_open(struct xentoollog_logger *logger,
							 unsigned int open_flags)
{
	return DROPIN_OPEN(xendevicemodel_handle);
}

DROPIN_EXPORT int xendevicemodel_close(xendevicemodel_handle *h)
{
	if (!h)
		return 0;
	hvc_close(h->c);
	free(h);
	return 0;
}

DROPIN_EXPORT int xendevicemodel_restrict(xendevicemodel_handle *h, domid_t domid)
{
	return dropin_restrict(&h->rs, domid);
}

static int dm(xendevicemodel_handle *h, struct hv_dm_req *q, struct hv_dm_rep *out)
{
	struct hv_dm_rep tmp;

	if (dropin_forbidden(&h->rs, q->domid))
		return dropin_ret(-EPERM);
	return dropin_ret(hvc_simple(h->c, HV_DM, q, sizeof(*q), out ? out : &tmp, sizeof(tmp)));
}

DROPIN_EXPORT int xendevicemodel_nr_vcpus(xendevicemodel_handle *h, domid_t domid,
					  unsigned int *vcpus)
{
	struct hv_dm_req q = { .sub = HV_DM_NR_VCPUS, .domid = domid };
	struct hv_dm_rep r;
	int rc = dm(h, &q, &r);

	if (!rc)
		*vcpus = (unsigned int)r.r0;
	return rc;
}

DROPIN_EXPORT int xendevicemodel_create_ioreq_server(xendevicemodel_handle *h, domid_t domid,
						     int handle_bufioreq, ioservid_t *id)
{
	struct hv_dm_req q = { .sub = HV_DM_CREATE,
			       .domid = domid,
			       .a = (uint32_t)handle_bufioreq };
	struct hv_dm_rep r;
	int rc = dm(h, &q, &r);

	if (!rc)
		*id = (ioservid_t)r.r0;
	return rc;
}

DROPIN_EXPORT int xendevicemodel_get_ioreq_server_info(xendevicemodel_handle *h, domid_t domid,
						       ioservid_t id, xen_pfn_t *ioreq_gfn,
						       xen_pfn_t *bufioreq_gfn,
						       evtchn_port_t *bufioreq_port)
{
	struct hv_dm_req q = {
		.sub = HV_DM_GET_INFO, .domid = domid, .id = id, .a = ioreq_gfn || bufioreq_gfn
	};
	struct hv_dm_rep r;
	int rc = dm(h, &q, &r);

	if (rc)
		return rc;
	if (ioreq_gfn)
		*ioreq_gfn = r.r0;
	if (bufioreq_gfn)
		*bufioreq_gfn = r.r1;
	if (bufioreq_port)
		*bufioreq_port = (evtchn_port_t)r.r2;
	return 0;
}

static int range(xendevicemodel_handle *h, uint32_t sub, domid_t domid, ioservid_t id,
		 uint32_t type, uint64_t start, uint64_t end)
{
	struct hv_dm_req q = {
		.sub = sub, .domid = domid, .id = id, .a = type, .b = start, .c = end
	};

	return dm(h, &q, NULL);
}

DROPIN_EXPORT int xendevicemodel_map_io_range_to_ioreq_server(xendevicemodel_handle *h,
							      domid_t domid, ioservid_t id,
							      int is_mmio, uint64_t start,
							      uint64_t end)
{
	return range(h, HV_DM_MAP_RANGE, domid, id,
		     is_mmio ? XEN_DMOP_IO_RANGE_MEMORY : XEN_DMOP_IO_RANGE_PORT, start, end);
}

DROPIN_EXPORT int xendevicemodel_unmap_io_range_from_ioreq_server(xendevicemodel_handle *h,
								  domid_t domid, ioservid_t id,
								  int is_mmio, uint64_t start,
								  uint64_t end)
{
	return range(h, HV_DM_UNMAP_RANGE, domid, id,
		     is_mmio ? XEN_DMOP_IO_RANGE_MEMORY : XEN_DMOP_IO_RANGE_PORT, start, end);
}

DROPIN_EXPORT int xendevicemodel_map_pcidev_to_ioreq_server(xendevicemodel_handle *h, domid_t domid,
							    ioservid_t id, uint16_t segment,
							    uint8_t bus, uint8_t device,
							    uint8_t function)
{
	uint64_t sbdf = XEN_DMOP_PCI_SBDF(segment, bus, device, function);

	return range(h, HV_DM_MAP_RANGE, domid, id, XEN_DMOP_IO_RANGE_PCI, sbdf, sbdf);
}

DROPIN_EXPORT int xendevicemodel_unmap_pcidev_from_ioreq_server(xendevicemodel_handle *h,
								domid_t domid, ioservid_t id,
								uint16_t segment, uint8_t bus,
								uint8_t device, uint8_t function)
{
	uint64_t sbdf = XEN_DMOP_PCI_SBDF(segment, bus, device, function);

	return range(h, HV_DM_UNMAP_RANGE, domid, id, XEN_DMOP_IO_RANGE_PCI, sbdf, sbdf);
}

DROPIN_EXPORT int xendevicemodel_destroy_ioreq_server(xendevicemodel_handle *h, domid_t domid,
						      ioservid_t id)
{
	struct hv_dm_req q = { .sub = HV_DM_DESTROY, .domid = domid, .id = id };

	return dm(h, &q, NULL);
}

DROPIN_EXPORT int xendevicemodel_set_ioreq_server_state(xendevicemodel_handle *h, domid_t domid,
							ioservid_t id, int enabled)
{
	struct hv_dm_req q = {
		.sub = HV_DM_SET_STATE, .domid = domid, .id = id, .a = enabled != 0
	};

	return dm(h, &q, NULL);
}

DROPIN_EXPORT int xendevicemodel_set_irq_level(xendevicemodel_handle *h, domid_t domid,
					       unsigned int irq, unsigned int level)
{
	struct hv_dm_req q = { .sub = HV_DM_SET_IRQ_LEVEL, .domid = domid, .a = irq, .b = level };

	return dm(h, &q, NULL);
}

DROPIN_EXPORT int xendevicemodel_set_isa_irq_level(xendevicemodel_handle *h, domid_t domid,
						   uint8_t irq, unsigned int level)
{
	struct hv_dm_req q = {
		.sub = HV_DM_SET_ISA_IRQ_LEVEL, .domid = domid, .a = irq, .b = level
	};

	return dm(h, &q, NULL);
}

DROPIN_EXPORT int xendevicemodel_inject_msi(xendevicemodel_handle *h, domid_t domid,
					    uint64_t msi_addr, uint32_t msi_data)
{
	struct hv_dm_req q = {
		.sub = HV_DM_INJECT_MSI, .domid = domid, .a = msi_data, .b = msi_addr
	};

	return dm(h, &q, NULL);
}

/* ---- not modelled ---- */

DROPIN_EXPORT int xendevicemodel_map_mem_type_to_ioreq_server(xendevicemodel_handle *h,
							      domid_t domid, ioservid_t id,
							      uint16_t type, uint32_t flags)
{
	return dropin_ret(-ENOSYS);
}

DROPIN_EXPORT int xendevicemodel_set_pci_intx_level(xendevicemodel_handle *h, domid_t domid,
						    uint16_t segment, uint8_t bus, uint8_t device,
						    uint8_t intx, unsigned int level)
{
	return dropin_ret(-ENOSYS);
}

DROPIN_EXPORT int xendevicemodel_set_pci_link_route(xendevicemodel_handle *h, domid_t domid,
						    uint8_t link, uint8_t irq)
{
	return dropin_ret(-ENOSYS);
}

DROPIN_EXPORT int xendevicemodel_track_dirty_vram(xendevicemodel_handle *h, domid_t domid,
						  uint64_t first_pfn, uint32_t nr,
						  unsigned long *dirty_bitmap)
{
	return dropin_ret(-ENOSYS);
}

DROPIN_EXPORT int xendevicemodel_modified_memory(xendevicemodel_handle *h, domid_t domid,
						 uint64_t first_pfn, uint32_t nr)
{
	return dropin_ret(-ENOSYS);
}

DROPIN_EXPORT int
xendevicemodel_modified_memory_bulk(xendevicemodel_handle *h, domid_t domid,
				    struct xen_dm_op_modified_memory_extent extents[], uint32_t nr)
{
	return dropin_ret(-ENOSYS);
}

DROPIN_EXPORT int xendevicemodel_set_mem_type(xendevicemodel_handle *h, domid_t domid,
					      hvmmem_type_t mem_type, uint64_t first_pfn,
					      uint32_t nr)
{
	return dropin_ret(-ENOSYS);
}

DROPIN_EXPORT int xendevicemodel_inject_event(xendevicemodel_handle *h, domid_t domid, int vcpu,
					      uint8_t vector, uint8_t type, uint32_t error_code,
					      uint8_t insn_len, uint64_t extra)
{
	return dropin_ret(-ENOSYS);
}

DROPIN_EXPORT int xendevicemodel_shutdown(xendevicemodel_handle *h, domid_t domid,
					  unsigned int reason)
{
	return dropin_ret(-ENOSYS);
}

DROPIN_EXPORT int xendevicemodel_relocate_memory(xendevicemodel_handle *h, domid_t domid,
						 uint32_t size, uint64_t src_gfn, uint64_t dst_gfn)
{
	return dropin_ret(-ENOSYS);
}

DROPIN_EXPORT int xendevicemodel_pin_memory_cacheattr(xendevicemodel_handle *h, domid_t domid,
						      uint64_t start, uint64_t end, uint32_t type)
{
	return dropin_ret(-ENOSYS);
}
