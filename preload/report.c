/* Events to lines, in text (key=value) or JSON (one object per line), and
 * the counters behind the exit summary. Only the slow path gets here, so
 * the shared counters below never touch the fast path.
 * In secure-execution mode no absolute address is written: the caller of a
 * setuid program reads its stderr, and an address there (of the executable,
 * libc or the heap) defeats ASLR. Frames keep module+offset, which is all
 * addr2line needs (the offset is the module's own address: of a non-PIE
 * executable that is where it always loads, which hides nothing); the
 * pointer fields are left out. Paths and build-ids are not addresses and
 * stay. */
#include "preload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "context.h"
#include "fmt.h"
#include "sink.h"
#include "symbolize.h"

#define LINE_MAX_BYTES 8192
#define SYM_MAX 96

static atomic_uint_least64_t n_large, n_failed, largest;
static _Atomic int largest_func = -1;

static const char *const func_names[] = {
	[MG_F_MALLOC] = "malloc",
	[MG_F_CALLOC] = "calloc",
	[MG_F_REALLOC] = "realloc",
	[MG_F_REALLOCARRAY] = "reallocarray",
	[MG_F_POSIX_MEMALIGN] = "posix_memalign",
	[MG_F_ALIGNED_ALLOC] = "aligned_alloc",
	[MG_F_MEMALIGN] = "memalign",
	[MG_F_VALLOC] = "valloc",
	[MG_F_PVALLOC] = "pvalloc",
	[MG_F_MMAP] = "mmap",
	[MG_F_MMAP64] = "mmap64",
	[MG_F_MREMAP] = "mremap",
	[MG_F_MPROTECT] = "mprotect",
};

static bool json(void)
{
	return mg_pl_cfg.format == MG_PL_JSON;
}

static bool hide_addresses(void)
{
	return mg_pl_secure();
}

/* Text: " key=" ; JSON: ,"key": */
static void key(struct mg_buf *b, const char *k)
{
	if (json()) {
		mg_buf_str(b, ",\"");
		mg_buf_str(b, k);
		mg_buf_str(b, "\":");
	} else {
		mg_buf_str(b, " ");
		mg_buf_str(b, k);
		mg_buf_str(b, "=");
	}
}

static void kv_u64(struct mg_buf *b, const char *k, uint64_t v)
{
	key(b, k);
	mg_buf_u64(b, v);
}

static void kv_str(struct mg_buf *b, const char *k, const char *v)
{
	key(b, k);
	if (json())
		mg_buf_json_str(b, v);
	else
		mg_buf_word(b, v);
}

static void kv_ptr(struct mg_buf *b, const char *k, const void *p)
{
	if (hide_addresses())
		return;
	key(b, k);
	if (json())
		mg_buf_str(b, "\"");
	mg_buf_hex(b, (uintptr_t)p);
	if (json())
		mg_buf_str(b, "\"");
}

/* A limit or reading: number, or unknown (- / null), or unlimited. */
static void kv_limit(struct mg_buf *b, const char *k, int64_t v, const char *unlimited)
{
	key(b, k);
	if (v >= 0)
		mg_buf_i64(b, v);
	else if (v == MG_PL_UNLIMITED && json())
		mg_buf_json_str(b, unlimited);
	else if (v == MG_PL_UNLIMITED)
		mg_buf_str(b, unlimited);
	else
		mg_buf_str(b, json() ? "null" : "-");
}

static void head(struct mg_buf *b, const char *event)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (json()) {
		mg_buf_str(b, "{\"time\":\"");
		mg_buf_time(b, &ts);
		mg_buf_str(b, "\"");
	} else {
		mg_buf_str(b, "memguard: ");
		mg_buf_time(b, &ts);
	}
	kv_u64(b, "pid", (uint64_t)getpid());
	kv_u64(b, "tid", (uint64_t)gettid());
	kv_str(b, "program", program_invocation_short_name);
	kv_str(b, "event", event);
}

static void build_id_hex(struct mg_buf *b, const struct mg_pl_frame *f)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < f->build_id_len; i++) {
		char two[2] = { digits[f->build_id[i] >> 4], digits[f->build_id[i] & 15] };
		mg_buf_mem(b, two, 2);
	}
}

/* Text: the build-id of every module the frames name, once each, so that
 * a later symboliser can tell the binary it finds at the path from the one
 * that ran. JSON carries it in each frame instead. */
static void modules_out(struct mg_buf *b, const uintptr_t *addr, int n)
{
	uintptr_t seen[MG_PL_BT_MAX];
	int nseen = 0;
	bool any = false;

	for (int i = 0; i < n; i++) {
		struct mg_pl_frame f;
		bool dup = false;

		mg_pl_frame_resolve(addr[i], &f);
		if (!f.located || !f.build_id_len)
			continue;
		for (int j = 0; j < nseen && !dup; j++)
			dup = seen[j] == f.bias;
		if (dup || nseen == MG_PL_BT_MAX)
			continue;
		seen[nseen++] = f.bias;
		if (!any)
			key(b, "modules");
		else
			mg_buf_str(b, ",");
		any = true;
		mg_buf_word(b, f.module);
		mg_buf_str(b, "@");
		build_id_hex(b, &f);
	}
}

static void frames_out(struct mg_buf *b, const uintptr_t *addr, int n)
{
	bool hide = hide_addresses();

	if (!json())
		modules_out(b, addr, n);
	key(b, "backtrace");
	mg_buf_str(b, json() ? "[" : "");
	for (int i = 0; i < n; i++) {
		struct mg_pl_frame f;
		char sym[SYM_MAX + 1];

		mg_pl_frame_resolve(addr[i], &f);
		sym[0] = '\0';
		if (f.sym) {
			size_t l = strlen(f.sym);
			/* C++ names can be kilobytes long: keep the line whole. */
			if (l > SYM_MAX)
				l = SYM_MAX;
			memcpy(sym, f.sym, l);
			sym[l] = '\0';
		}
		if (i)
			mg_buf_str(b, ",");
		/* An unknown module has no offset to give, only the address. */
		if (json()) {
			mg_buf_str(b, "{");
			if (!hide) {
				mg_buf_str(b, "\"addr\":\"");
				mg_buf_hex(b, f.addr);
				mg_buf_str(b, "\",");
			}
			mg_buf_str(b, "\"module\":");
			mg_buf_json_str(b, f.module);
			if (f.located || !hide) {
				mg_buf_str(b, ",\"offset\":\"");
				mg_buf_hex(b, f.offset);
				mg_buf_str(b, "\"");
			}
			if (f.build_id_len) {
				mg_buf_str(b, ",\"build_id\":\"");
				build_id_hex(b, &f);
				mg_buf_str(b, "\"");
			}
			if (f.sym) {
				mg_buf_str(b, ",\"symbol\":");
				mg_buf_json_str(b, sym);
				mg_buf_str(b, ",\"symbol_offset\":\"");
				mg_buf_hex(b, f.sym_off);
				mg_buf_str(b, "\"");
			}
			mg_buf_str(b, "}");
		} else {
			if (!hide) {
				mg_buf_hex(b, f.addr);
				mg_buf_str(b, ":");
			}
			mg_buf_word(b, f.module);
			if (f.located || !hide) {
				mg_buf_str(b, "+");
				mg_buf_hex(b, f.offset);
			}
			if (f.sym) {
				mg_buf_str(b, ":");
				mg_buf_word(b, sym);
				mg_buf_str(b, "+");
				mg_buf_hex(b, f.sym_off);
			}
		}
	}
	if (json())
		mg_buf_str(b, "]");
	else if (n == 0)
		mg_buf_str(b, "-");
}

static void emit(struct mg_buf *b, enum mg_pl_level level)
{
	if (json())
		mg_buf_str(b, "}");
	size_t len = mg_buf_finish(b);
	mg_pl_sink_write(level, b->p, len);
}

static void context_out(struct mg_buf *b)
{
	struct mg_pl_context c;

	mg_pl_context_read(&mg_pl_roots_default, &c);
	if (json()) {
		mg_buf_str(b, ",\"context\":{\"overcommit\":");
		if (c.overcommit >= 0)
			mg_buf_u64(b, (uint64_t)c.overcommit);
		else
			mg_buf_str(b, "null");
	} else {
		mg_buf_str(b, " overcommit=");
		if (c.overcommit >= 0)
			mg_buf_u64(b, (uint64_t)c.overcommit);
		else
			mg_buf_str(b, "-");
	}
	kv_limit(b, "commit_limit_kb", c.commit_limit_kb, "");
	kv_limit(b, "committed_as_kb", c.committed_as_kb, "");
	kv_limit(b, "vm_size_kb", c.vm_size_kb, "");
	kv_limit(b, "vm_rss_kb", c.vm_rss_kb, "");
	kv_limit(b, "rlimit_as", c.rlimit_as, "unlimited");
	if (c.cgroup_version) {
		key(b, "cgroup_version");
		mg_buf_u64(b, (uint64_t)c.cgroup_version);
		kv_str(b, "cgroup", c.cgroup);
		kv_limit(b, "cgroup_limit", c.cgroup_limit, "max");
		if (c.cgroup_limit >= 0 && c.cgroup_limit_group[0])
			kv_str(b, "cgroup_limit_group", c.cgroup_limit_group);
		kv_limit(b, "cgroup_usage", c.cgroup_usage, "");
	}
	if (json())
		mg_buf_str(b, "}");
}

static void note_largest(enum mg_pl_func f, uint64_t size)
{
	uint64_t cur = atomic_load_explicit(&largest, memory_order_relaxed);

	while (size > cur)
		if (atomic_compare_exchange_weak(&largest, &cur, size)) {
			atomic_store_explicit(&largest_func, (int)f, memory_order_relaxed);
			break;
		}
}

static void suppressed_line(const uintptr_t *frames, int n, uint64_t count, void *arg)
{
	char mem[LINE_MAX_BYTES];
	struct mg_buf b;

	(void)arg;
	mg_buf_init(&b, mem, sizeof(mem));
	head(&b, "suppressed");
	kv_u64(&b, "count", count);
	kv_u64(&b, "window_s", mg_pl_cfg.window);
	frames_out(&b, frames, n);
	emit(&b, MG_PL_LEVEL_WARNING);
}

/* What the function returned on failure: not an address, so always shown. */
static void failed_result(struct mg_buf *b, const struct mg_pl_event *ev)
{
	key(b, "result");
	if (ev->func >= MG_F_MMAP && ev->func <= MG_F_MREMAP)
		mg_buf_str(b, json() ? "\"MAP_FAILED\"" : "MAP_FAILED");
	else if (ev->func == MG_F_MPROTECT)
		mg_buf_str(b, "-1");
	else if (ev->func == MG_F_POSIX_MEMALIGN)
		mg_buf_u64(b, (uint64_t)ev->err);
	else
		mg_buf_str(b, json() ? "null" : "NULL");
}

void mg_pl_report(const struct mg_pl_event *ev)
{
	char mem[LINE_MAX_BYTES];
	uintptr_t frames[MG_PL_BT_MAX];
	struct mg_buf b;
	int saved = errno, nf;
	unsigned want = mg_pl_cfg.backtrace;
	uint64_t before = 0;

	if (want < MG_PL_SITE_FRAMES && !ev->failed)
		want = MG_PL_SITE_FRAMES; /* the site needs them even if not shown */
	nf = mg_pl_backtrace(frames, (int)want);
	if (ev->failed) {
		atomic_fetch_add_explicit(&n_failed, 1, memory_order_relaxed);
	} else {
		struct timespec now;
		atomic_fetch_add_explicit(&n_large, 1, memory_order_relaxed);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!mg_pl_rate_allow(frames, nf, (uint64_t)now.tv_sec, &before)) {
			note_largest(ev->func, ev->size);
			errno = saved;
			return;
		}
	}
	if (!ev->overflow)
		note_largest(ev->func, ev->size);
	if (before)
		suppressed_line(frames, nf < MG_PL_SITE_FRAMES ? nf : MG_PL_SITE_FRAMES, before, NULL);
	if (nf > (int)mg_pl_cfg.backtrace)
		nf = (int)mg_pl_cfg.backtrace;

	mg_buf_init(&b, mem, sizeof(mem));
	head(&b, ev->failed ? "failure" : "large");
	kv_str(&b, "function", func_names[ev->func]);
	if (ev->overflow) {
		key(&b, "size");
		mg_buf_str(&b, json() ? "null" : "overflow");
	} else {
		kv_u64(&b, "size", ev->size);
	}
	if (ev->nmemb || ev->elsize || ev->func == MG_F_CALLOC || ev->func == MG_F_REALLOCARRAY) {
		kv_u64(&b, "nmemb", ev->nmemb);
		kv_u64(&b, "elsize", ev->elsize);
	}
	if (ev->align)
		kv_u64(&b, "alignment", ev->align);
	if (ev->func == MG_F_MREMAP)
		kv_u64(&b, "old_size", ev->old_size);
	if (ev->old)
		kv_ptr(&b, ev->func == MG_F_MPROTECT ? "addr" : "old", ev->old);
	if (ev->prot >= 0) {
		key(&b, "prot");
		mg_buf_u64(&b, (uint64_t)ev->prot);
	}
	if (ev->failed)
		failed_result(&b, ev);
	else
		kv_ptr(&b, "result", ev->result);
	kv_u64(&b, "errno", (uint64_t)ev->err);
	if (ev->err) {
		const char *name = strerrorname_np(ev->err);
		kv_str(&b, "error", name ? name : "?");
	}
	if (ev->injected) {
		key(&b, "injected");
		mg_buf_str(&b, json() ? "true" : "1");
	}
	if (ev->failed)
		context_out(&b);
	frames_out(&b, frames, nf);
	emit(&b, ev->failed ? MG_PL_LEVEL_ERR : MG_PL_LEVEL_WARNING);

	if (ev->failed && mg_pl_cfg.abort_on_fail)
		abort(); /* here, so the core shows the failing call */
	errno = saved;
}

void mg_pl_warn(const char *msg)
{
	char mem[1024];
	struct mg_buf b;

	mg_buf_init(&b, mem, sizeof(mem));
	head(&b, "warning");
	if (json()) {
		kv_str(&b, "message", msg);
	} else {
		/* The message is for people: keep its spaces. */
		mg_buf_str(&b, " ");
		mg_buf_str(&b, msg);
	}
	emit(&b, MG_PL_LEVEL_WARNING);
}

void mg_pl_report_exit(void)
{
	char mem[LINE_MAX_BYTES];
	struct mg_buf b;
	uint64_t large = atomic_load(&n_large), failed = atomic_load(&n_failed), lost;
	int lf = atomic_load(&largest_func);

	mg_pl_rate_flush(suppressed_line, NULL);
	/* Read after the flush: a suppressed line lost there counts too. */
	lost = mg_pl_sink_lost();
	if (large == 0 && failed == 0 && lost == 0)
		return;
	mg_buf_init(&b, mem, sizeof(mem));
	head(&b, "summary");
	kv_u64(&b, "large", large);
	kv_u64(&b, "failures", failed);
	kv_u64(&b, "largest", atomic_load(&largest));
	kv_str(&b, "largest_function", lf >= 0 ? func_names[lf] : "-");
	kv_limit(&b, "peak_rss_kb", mg_pl_read_hwm_kb(&mg_pl_roots_default), "");
	kv_u64(&b, "suppressed", mg_pl_rate_suppressed_total());
	kv_u64(&b, "lost", lost);
	emit(&b, MG_PL_LEVEL_WARNING);
}

void mg_pl_report_reset_child(void)
{
	atomic_store(&n_large, 0);
	atomic_store(&n_failed, 0);
	atomic_store(&largest, 0);
	atomic_store(&largest_func, -1);
	mg_pl_rate_reset_child();
}
