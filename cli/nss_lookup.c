#include "nss_lookup.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdlib.h>

/* More threads than this buy little: the lookups of a local userdb share
 * the machine's cores, and a directory server should not see a burst. */
#define MAX_THREADS 8

struct lookup_work {
	struct nss_query *q;
	size_t n;
	atomic_size_t next;
};

static bool known(const struct nss_query *q)
{
	size_t len = 1024;

	for (;;) {
		char *buf = malloc(len);
		int r;
		bool found;

		if (!buf)
			return false;
		if (q->group) {
			struct group gr, *res = NULL;

			r = getgrnam_r(q->name, &gr, buf, len, &res);
			found = res != NULL;
		} else {
			struct passwd pw, *res = NULL;

			r = getpwnam_r(q->name, &pw, buf, len, &res);
			found = res != NULL;
		}
		free(buf);
		/* A group of many members needs a larger buffer. */
		if (r != ERANGE || len >= (1u << 24))
			return found;
		len *= 4;
	}
}

static void *lookup_worker(void *arg)
{
	struct lookup_work *w = arg;
	size_t i;

	while ((i = atomic_fetch_add(&w->next, 1)) < w->n)
		w->q[i].found = known(&w->q[i]);
	return NULL;
}

void nss_lookup_all(struct nss_query *q, size_t n)
{
	struct lookup_work w = { .q = q, .n = n };
	pthread_t tids[MAX_THREADS - 1];
	size_t started = 0, want = n < MAX_THREADS ? n : MAX_THREADS;

	atomic_init(&w.next, 0);
	/* The calling thread is one of the workers; a thread that cannot
	 * start leaves its share to the others. */
	while (started + 1 < want && pthread_create(&tids[started], NULL, lookup_worker, &w) == 0)
		started++;
	lookup_worker(&w);
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
}
