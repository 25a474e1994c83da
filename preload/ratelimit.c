/* Per-call-site budget for large-allocation reports: a program that maps a
 * big buffer in a loop would otherwise write a line per iteration (one
 * stress test wrote 150k lines in 8 s). A site is the first frames of the
 * caller's stack, so operator new called from different places stays apart.
 * Failures never pass through here: they are always reported.
 * Only the slow path reaches this, so a lock is affordable; a mutex, so a
 * waiting thread sleeps instead of spinning. */
#include "preload.h"

#include <pthread.h>
#include <string.h>

#define SITES 128

struct site {
	uintptr_t frames[MG_PL_SITE_FRAMES];
	int nframes;
	bool used;
	uint64_t window_start; /* seconds */
	uint64_t in_window;    /* reports printed in this window */
	uint64_t suppressed;   /* swallowed since the last printed one */
};

static struct site sites[SITES];
static atomic_uint_least64_t suppressed_total;
static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t site_hash(const uintptr_t *f, int n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (int i = 0; i < n; i++) {
		h ^= (uint64_t)f[i];
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

/* Open addressing; a full table sends new sites to the last slot probed,
 * which then stands for "many sites". */
static struct site *lookup(const uintptr_t *f, int n)
{
	uint64_t h = site_hash(f, n);
	struct site *s = NULL;

	for (int i = 0; i < 16; i++) {
		s = &sites[(h + (uint64_t)i) % SITES];
		if (!s->used) {
			s->used = true;
			memcpy(s->frames, f, (size_t)n * sizeof(*f));
			s->nframes = n;
			return s;
		}
		if (s->nframes == n && memcmp(s->frames, f, (size_t)n * sizeof(*f)) == 0)
			return s;
	}
	return s;
}

bool mg_pl_rate_allow(const uintptr_t *frames, int n, uint64_t now_s, uint64_t *suppressed_before)
{
	struct site *s;
	bool ok;

	*suppressed_before = 0;
	if (mg_pl_cfg.burst == 0)
		return true;
	if (n > MG_PL_SITE_FRAMES)
		n = MG_PL_SITE_FRAMES;
	pthread_mutex_lock(&rl_lock);
	s = lookup(frames, n);
	if (now_s - s->window_start >= mg_pl_cfg.window || s->in_window == 0) {
		s->window_start = now_s;
		s->in_window = 0;
	}
	ok = s->in_window < mg_pl_cfg.burst;
	if (ok) {
		s->in_window++;
		*suppressed_before = s->suppressed;
		s->suppressed = 0;
	} else {
		s->suppressed++;
		atomic_fetch_add_explicit(&suppressed_total, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&rl_lock);
	return ok;
}

void mg_pl_rate_flush(void (*fn)(const uintptr_t *frames, int n, uint64_t count, void *arg), void *arg)
{
	struct site copy[SITES];
	int k = 0;

	/* Copy out under the lock; the callback reports, which must not hold it. */
	pthread_mutex_lock(&rl_lock);
	for (int i = 0; i < SITES; i++)
		if (sites[i].used && sites[i].suppressed) {
			copy[k++] = sites[i];
			sites[i].suppressed = 0;
		}
	pthread_mutex_unlock(&rl_lock);
	for (int i = 0; i < k; i++)
		fn(copy[i].frames, copy[i].nframes, copy[i].suppressed, arg);
}

uint64_t mg_pl_rate_suppressed_total(void)
{
	return atomic_load_explicit(&suppressed_total, memory_order_relaxed);
}

void mg_pl_rate_reset_child(void)
{
	pthread_mutex_init(&rl_lock, NULL);
	memset(sites, 0, sizeof(sites));
	atomic_store(&suppressed_total, 0);
}
