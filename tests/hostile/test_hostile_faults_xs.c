/* SPDX-License-Identifier: MIT */
/*
 * test_hostile_faults_xs.c — fault-injection sweep (faults_common.h) of the xenstore calls of
 * discovery (vxen_backend over the xenstore watcher): read, write, directory, watch and
 * transactions, on the xenstore scenario (a virtio,device4 entry written as libxl does, served,
 * then the backend shut down). xs_mkdir and xs_rm are not call sites of the library.
 */
#include <check.h>
#include <errno.h>

#include "faults_common.h"
#include "helper_hostile.h"

START_TEST(faults__xs_read)
{
	fs_sweep(FS_XENSTORE, XENSIM_OP_XS_READ,
		 FS_ERRS(ENOENT, EACCES, EAGAIN, EIO, ENOMEM, EINVAL));
}
END_TEST

START_TEST(faults__xs_write)
{
	fs_sweep(FS_XENSTORE, XENSIM_OP_XS_WRITE,
		 FS_ERRS(EACCES, ENOSPC, EAGAIN, EIO, ENOENT, E2BIG));
}
END_TEST

START_TEST(faults__xs_directory)
{
	fs_sweep(FS_XENSTORE, XENSIM_OP_XS_DIRECTORY, FS_ERRS(ENOENT, EACCES, EAGAIN, EIO, ENOMEM));
}
END_TEST

START_TEST(faults__xs_watch)
{
	fs_sweep(FS_XENSTORE, XENSIM_OP_XS_WATCH,
		 FS_ERRS(ENOSPC, EACCES, EINVAL, EIO, E2BIG, EEXIST));
}
END_TEST

START_TEST(faults__xs_transaction_start)
{
	fs_sweep(FS_XENSTORE, XENSIM_OP_XS_TRANSACTION_START, FS_ERRS(EAGAIN, ENOSPC, EIO, EBUSY));
}
END_TEST

START_TEST(faults__xs_transaction_end)
{
	fs_sweep(FS_XENSTORE, XENSIM_OP_XS_TRANSACTION_END, FS_ERRS(EAGAIN, EIO, ENOENT, EINVAL));
}
END_TEST

int main(void)
{
	return hw_run_tests("faults_xs", "sweep", 600,
			    HW_TESTS(faults__xs_read, faults__xs_write, faults__xs_directory,
				     faults__xs_watch, faults__xs_transaction_start,
				     faults__xs_transaction_end));
}
