/* SPDX-License-Identifier: MIT */
/*
 * guest_io.c — a simulated guest's vCPU traps (MMIO/PIO through ioreq servers) and its view
 * of interrupts.
 *
 * Each vCPU has its own connection to the machine, because an access blocks until the backend
 * answers: different vCPUs may trap concurrently from different threads. Interrupt counts live
 * in a page shared with the machine; waiters sleep on a futex in it.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "guest_internal.h"

#include <xen/hvm/ioreq.h>

static struct hvc *vcpu_conn(xensim_guest *g, uint32_t vcpu, int *err)
{
	struct hvc *c;

	pthread_mutex_lock(&g->vcpu_lock);
	c = g->vcpu_conn[vcpu];
	if (!c) {
		*err = hvc_open(&c, g->x->path, 0);
		if (!*err)
			g->vcpu_conn[vcpu] = c;
	}
	pthread_mutex_unlock(&g->vcpu_lock);
	return c;
}

static int trap(xensim_guest *g, unsigned int vcpu, const struct xensim_ioreq *req,
		uint64_t *data_out)
{
	struct hv_ioreq_req q = {
		.domid = g->domid,
		.vcpu = vcpu,
		.timeout_ms = g->timeout_ms,
		.addr = req->addr,
		.data = req->data,
		.count = req->count,
		.size = req->size,
		.dir = req->dir,
		.type = req->type,
		.data_is_ptr = req->data_is_ptr,
		.df = req->df,
	};
	uint64_t data = 0;
	struct hvc *c;
	int rc = 0;

	if (vcpu >= g->vcpus)
		return -EINVAL;
	c = vcpu_conn(g, vcpu, &rc);
	if (!c)
		return rc;
	rc = hvc_simple(c, HV_IOREQ, &q, sizeof(q), &data, sizeof(data));
	if (rc >= 0 && data_out)
		*data_out = data;
	return rc < 0 ? rc : 0;
}

static bool size_ok(unsigned int size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

int xensim_mmio_read(xensim_guest *g, unsigned int vcpu, uint64_t addr, unsigned int size,
		     uint64_t *val_out)
{
	struct xensim_ioreq r = {
		.addr = addr, .count = 1, .size = size, .dir = IOREQ_READ, .type = IOREQ_TYPE_COPY
	};

	if (!size_ok(size))
		return -EINVAL;
	return trap(g, vcpu, &r, val_out);
}

int xensim_mmio_write(xensim_guest *g, unsigned int vcpu, uint64_t addr, unsigned int size,
		      uint64_t val)
{
	struct xensim_ioreq r = {
		.addr = addr, .count = 1, .size = size, .dir = IOREQ_WRITE, .type = IOREQ_TYPE_COPY
	};

	if (!size_ok(size))
		return -EINVAL;
	/* A store of @size bytes: only those reach the device. */
	r.data = size == 8 ? val : val & ((1ULL << (size * 8)) - 1);
	return trap(g, vcpu, &r, NULL);
}

int xensim_ioreq_raw(xensim_guest *g, unsigned int vcpu, const struct xensim_ioreq *req,
		     uint64_t *data_out)
{
	return trap(g, vcpu, req, data_out);
}

void xensim_guest_set_timeout(xensim_guest *g, int timeout_ms)
{
	g->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
}

/* ---- interrupts ---- */

static bool spi_ok(uint32_t spi)
{
	return spi >= HV_FIRST_SPI && spi < HV_NR_SPIS;
}

static int take_edges(xensim_guest *g, uint32_t spi)
{
	uint64_t now = __atomic_load_n(&g->irq->spi_count[spi], __ATOMIC_ACQUIRE), n;

	pthread_mutex_lock(&g->irq_lock);
	n = now - g->irq_seen[spi];
	g->irq_seen[spi] = now;
	pthread_mutex_unlock(&g->irq_lock);
	return n > INT_MAX ? INT_MAX : (int)n;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sleep until seq moves from @seq or @ms pass (-1: forever). */
static void wait_seq(xensim_guest *g, uint32_t seq, int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	/* seq_cst: pairs with the machine's seq bump before it reads waiters (irq_notify). */
	__atomic_fetch_add(&g->irq->waiters, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&g->irq->seq, __ATOMIC_SEQ_CST) == seq)
		syscall(SYS_futex, &g->irq->seq, FUTEX_WAIT, seq, ms < 0 ? NULL : &ts, NULL, 0);
	__atomic_fetch_sub(&g->irq->waiters, 1, __ATOMIC_SEQ_CST);
}

int xensim_irq_wait(xensim_guest *g, uint32_t spi, int timeout_ms)
{
	uint64_t deadline = timeout_ms > 0 ? mono_ms() + (uint64_t)timeout_ms : 0;

	if (!spi_ok(spi))
		return -EINVAL;
	for (;;) {
		/* Read seq before the count: an edge after this read changes seq. */
		uint32_t seq = __atomic_load_n(&g->irq->seq, __ATOMIC_ACQUIRE);
		int n = take_edges(g, spi), ms = -1;

		if (n)
			return n;
		if (timeout_ms == 0)
			return 0;
		if (timeout_ms > 0) {
			uint64_t now = mono_ms();

			if (now >= deadline)
				return 0;
			ms = (int)(deadline - now);
		}
		wait_seq(g, seq, ms);
	}
}

int xensim_irq_count(xensim_guest *g, uint32_t spi, uint64_t *count_out)
{
	if (!spi_ok(spi))
		return -EINVAL;
	*count_out = __atomic_load_n(&g->irq->spi_count[spi], __ATOMIC_ACQUIRE);
	return 0;
}

int xensim_isa_irq_count(xensim_guest *g, uint32_t isa_irq, uint64_t *count_out)
{
	if (isa_irq > 15)
		return -EINVAL;
	*count_out = __atomic_load_n(&g->irq->isa_count[isa_irq], __ATOMIC_ACQUIRE);
	return 0;
}

int xensim_msi_count(xensim_guest *g, uint64_t *count_out)
{
	*count_out = __atomic_load_n(&g->irq->msi_count, __ATOMIC_ACQUIRE);
	return 0;
}

int xensim_guest_irq_fd(xensim_guest *g)
{
	return g->irq_efd;
}
