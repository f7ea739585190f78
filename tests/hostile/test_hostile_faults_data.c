/* SPDX-License-Identifier: MIT */
/*
 * test_hostile_faults_data.c — fault-injection sweep (faults_common.h) of the data path's Xen
 * calls: grant map/unmap/copy and event channel notifications on the grant-DMA device
 * scenario, and foreign mapping on the foreign-mapping scenario.
 */
#include <check.h>
#include <errno.h>

#include "faults_common.h"
#include "helper_hostile.h"

START_TEST(faults__gnttab_map)
{
	fs_sweep(FS_DEVICE, XENSIM_OP_GNT_MAP,
		 FS_ERRS(ENOMEM, EINVAL, EFAULT, EPERM, ENOSPC, EAGAIN));
}
END_TEST

START_TEST(faults__gnttab_unmap)
{
	fs_sweep(FS_DEVICE, XENSIM_OP_GNT_UNMAP, FS_ERRS(EINVAL, ENOENT, EFAULT, EBUSY));
}
END_TEST

START_TEST(faults__gnttab_copy)
{
	fs_sweep(FS_DEVICE, XENSIM_OP_GNT_COPY, FS_ERRS(ENOMEM, EINVAL, EFAULT, EPERM, EAGAIN));
}
END_TEST

START_TEST(faults__evtchn_notify)
{
	fs_sweep(FS_DEVICE, XENSIM_OP_EVTCHN_NOTIFY, FS_ERRS(EINVAL, ENOENT, ESRCH, EFAULT));
}
END_TEST

START_TEST(faults__foreignmemory_map)
{
	fs_sweep(FS_FOREIGN, XENSIM_OP_FMEM_MAP,
		 FS_ERRS(ENOMEM, EINVAL, EFAULT, EPERM, ESRCH, ENOENT));
}
END_TEST

int main(void)
{
	return hw_run_tests("faults_data", "sweep", 600,
			    HW_TESTS(faults__gnttab_map, faults__gnttab_unmap, faults__gnttab_copy,
				     faults__evtchn_notify, faults__foreignmemory_map));
}
