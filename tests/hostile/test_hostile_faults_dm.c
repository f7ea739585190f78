/* SPDX-License-Identifier: MIT */
/*
 * test_hostile_faults_dm.c — fault-injection sweep (faults_common.h) of the ioreq server's Xen
 * calls: libxendevicemodel (nr_vcpus, create/set_state/map/unmap/destroy of the ioreq server,
 * set_irq_level), the resource mapping of the ioreq page and the per-vCPU event channel binds,
 * on the device scenario. (get_ioreq_server_info is not a call site: the library maps the ioreq
 * page with xenforeignmemory_map_resource(), which is all Arm offers.)
 */
#include <check.h>
#include <errno.h>

#include "faults_common.h"
#include "helper_hostile.h"

#define ERRS_SETUP FS_ERRS(ENOMEM, EINVAL, EFAULT, ESRCH, ENOENT, EAGAIN, EPERM, ENOSYS)

START_TEST(faults__dm_nr_vcpus)
{
	fs_sweep(FS_DEVICE, XENSIM_OP_DM_NR_VCPUS, ERRS_SETUP);
}
END_TEST

START_TEST(faults__dm_create_ioreq_server)
{
	fs_sweep(FS_DEVICE, XENSIM_OP_DM_CREATE_IOREQ_SERVER,
		 FS_ERRS(ENOMEM, EINVAL, EFAULT, ESRCH, ENOENT, EAGAIN, EPERM, ENOSYS, ENOSPC));
}
END_TEST

START_TEST(faults__dm_set_ioreq_server_state)
{
	fs_sweep(FS_DEVICE, XENSIM_OP_DM_SET_IOREQ_SERVER_STATE, ERRS_SETUP);
}
END_TEST

START_TEST(faults__dm_map_io_range)
{
	fs_sweep(FS_DEVICE, XENSIM_OP_DM_MAP_IO_RANGE,
		 FS_ERRS(ENOMEM, EINVAL, EFAULT, ESRCH, ENOENT, EAGAIN, EPERM, ENOSYS, EEXIST));
}
END_TEST

START_TEST(faults__dm_unmap_io_range)
{
	fs_sweep(FS_DEVICE, XENSIM_OP_DM_UNMAP_IO_RANGE, FS_ERRS(EINVAL, ESRCH, ENOENT, EFAULT));
}
END_TEST

START_TEST(faults__dm_destroy_ioreq_server)
{
	fs_sweep(FS_DEVICE, XENSIM_OP_DM_DESTROY_IOREQ_SERVER,
		 FS_ERRS(EINVAL, ESRCH, ENOENT, EPERM));
}
END_TEST

START_TEST(faults__dm_set_irq_level)
{
	fs_sweep(FS_DEVICE, XENSIM_OP_DM_SET_IRQ_LEVEL,
		 FS_ERRS(EINVAL, ESRCH, EAGAIN, ENOMEM, EPERM));
}
END_TEST

START_TEST(faults__fmem_map_resource)
{
	fs_sweep(FS_DEVICE, XENSIM_OP_FMEM_MAP_RESOURCE,
		 FS_ERRS(ENOMEM, EINVAL, EFAULT, ESRCH, ENOENT, EPERM, EOPNOTSUPP, ENOSYS));
}
END_TEST

START_TEST(faults__evtchn_bind_interdomain)
{
	fs_sweep(FS_DEVICE, XENSIM_OP_EVTCHN_BIND_INTERDOMAIN,
		 FS_ERRS(ENOMEM, EINVAL, ESRCH, ENOENT, EPERM, ENOSPC, EAGAIN));
}
END_TEST

int main(void)
{
	return hw_run_tests("faults_dm", "sweep", 300,
			    HW_TESTS(faults__dm_nr_vcpus, faults__dm_create_ioreq_server,
				     faults__dm_set_ioreq_server_state, faults__dm_map_io_range,
				     faults__dm_unmap_io_range, faults__dm_destroy_ioreq_server,
				     faults__dm_set_irq_level, faults__fmem_map_resource,
				     faults__evtchn_bind_interdomain));
}
