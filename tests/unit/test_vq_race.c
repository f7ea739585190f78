/* SPDX-License-Identifier: MIT */
/*
 * Two-thread test of the notification protocol: a driver thread (barriers placed like Linux's
 * virtio_ring.c) and a device thread using pop/push/publish/kicks_enable, each sleeping on a
 * semaphore when it has nothing to do and woken only when the other side decides a
 * notification is due. A missing or misplaced barrier shows up as a lost wake-up: a side asleep
 * while the other has made work available for it. Each wait has a generous timeout; a timeout
 * with work pending is a lost wake-up and fails the test.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <time.h>

#include "helper_vq.h"

#define Q	     64
#define N_REQ	     200000
#define WAIT_SECONDS 5

static struct tvq *t;
static sem_t kick, irq;
static atomic_bool done;
static atomic_int lost_kicks, lost_irqs, device_errors;
static uint16_t *used_event_p, *used_idx_p;

static bool wait_sem(sem_t *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_SECONDS;
	while (sem_timedwait(s, &ts) != 0)
		if (errno == ETIMEDOUT)
			return false;
	return true;
}

static void *device_thread(void *arg)
{
	static struct tvq_req rs[Q];

	(void)arg;
	for (int i = 0; i < Q; i++)
		tvq_req_init(&rs[i], 4, 4);
	while (!atomic_load(&done)) {
		bool any = false;
		int r;

		vxen_vq_kicks_disable(t->vq);
		/* Requests are completed at once, so rs[0] is always free again. */
		while ((r = vxen_vq_pop(t->vq, &rs[0].req)) == 1) {
			vxen_vq_push(t->vq, &rs[0].req, 1);
			any = true;
		}
		if (r != 0) /* no Check assertions off the test's thread */
			atomic_fetch_add(&device_errors, 1);
		if (any && vxen_vq_publish(t->vq))
			sem_post(&irq);
		if (vxen_vq_kicks_enable(t->vq))
			continue;
		if (!wait_sem(&kick) && vxen_vq_pending(t->vq))
			atomic_fetch_add(&lost_kicks, 1);
	}
	return NULL;
}

/* Driver side: offer @head (a one-descriptor chain) and kick if the device asked for it. */
static void driver_add(uint16_t head)
{
	uint16_t old = t->avail_idx;

	tvq_avail(t, head); /* entry, then a release store of avail.idx (virtio_wmb) */
	/* virtio_mb() in virtqueue_kick_prepare: avail.idx before reading avail_event. */
	atomic_thread_fence(memory_order_seq_cst);
	if (vxen_vring_need_event(
		    le16toh(__atomic_load_n(tvq_avail_event_ptr(t), __ATOMIC_RELAXED)),
		    t->avail_idx, old))
		sem_post(&kick);
}

static uint16_t used_idx(void)
{
	return le16toh(__atomic_load_n(used_idx_p, __ATOMIC_ACQUIRE));
}

START_TEST(race__no_lost_kick_or_interrupt_between_two_threads)
{
	uint16_t free_heads[Q], last_used = 0;
	unsigned int n_free = Q, added = 0, completed = 0;
	pthread_t dev;

	t = tvq_new(Q, TVQ_F_EVENT_IDX, 1 << 16);
	for (uint16_t i = 0; i < Q; i++) {
		tvq_set_desc(t, i, tvq_alloc(t, 8), 8, VXEN_VRING_DESC_F_WRITE, 0);
		free_heads[i] = i;
	}
	used_event_p = (uint16_t *)(t->mem + t->avail_off) + 2 + Q;
	used_idx_p = tvq_used_idx_ptr(t);
	sem_init(&kick, 0, 0);
	sem_init(&irq, 0, 0);
	ck_assert_int_eq(pthread_create(&dev, NULL, device_thread, NULL), 0);

	while (completed < N_REQ) {
		/* Offer a few (bursts of 1..8 keep both sides switching between busy and idle). */
		for (unsigned int b = 0; n_free && added < N_REQ && b < 1 + (added & 7); b++) {
			driver_add(free_heads[--n_free]);
			added++;
		}
		/* Reap. */
		while (last_used != used_idx()) {
			uint32_t id, len;

			tvq_used_elem(t, last_used++, &id, &len);
			ck_assert_uint_lt(id, Q);
			free_heads[n_free++] = (uint16_t)id;
			completed++;
		}
		if (n_free && added < N_REQ)
			continue;
		if (completed == N_REQ)
			break;
		/* Nothing to do: ask for an interrupt at the next used entry, then re-check
		 * (virtqueue_enable_cb: used_event, virtio_mb(), re-read used.idx). */
		__atomic_store_n(used_event_p, htole16(last_used), __ATOMIC_RELAXED);
		atomic_thread_fence(memory_order_seq_cst);
		if (used_idx() != last_used)
			continue;
		if (!wait_sem(&irq) && used_idx() != last_used)
			atomic_fetch_add(&lost_irqs, 1);
	}
	atomic_store(&done, true);
	sem_post(&kick);
	pthread_join(dev, NULL);
	ck_assert_int_eq(atomic_load(&lost_kicks), 0);
	ck_assert_int_eq(atomic_load(&lost_irqs), 0);
	ck_assert_int_eq(atomic_load(&device_errors), 0);
	ck_assert_uint_eq(vxen_vq_stats(t->vq)->pushed, N_REQ);
	tvq_free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vq_race");
	TCase *tc = tcase_create("threads");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, race__no_lost_kick_or_interrupt_between_two_threads);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
