#include "symbolize.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <string.h>

#include "preload.h"

static const void *self_base;

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static bool in_self(uintptr_t addr)
{
	Dl_info info;

	return dladdr((void *)addr, &info) && info.dli_fbase == self_base;
}

void mg_pl_backtrace_warm(void)
{
	Dl_info info;
	void *buf[4];

	if (dladdr((void *)&mg_pl_backtrace_warm, &info))
		self_base = info.dli_fbase;
	(void)backtrace(buf, 4);
}

int mg_pl_backtrace(uintptr_t *out, int max)
{
	void *raw[MG_PL_BT_MAX + 16];
	int n, i = 0, k = 0;

	if (max <= 0)
		return 0;
	n = backtrace(raw, max + 16 > (int)(sizeof(raw) / sizeof(raw[0])) ?
				   (int)(sizeof(raw) / sizeof(raw[0])) : max + 16);
	/* The first frames are ours (report, slow path, hook): drop them by
	 * module rather than by count, which inlining would change. */
	while (i < n && in_self((uintptr_t)raw[i]))
		i++;
	for (; i < n && k < max; i++)
		out[k++] = (uintptr_t)raw[i];
	return k;
}

void mg_pl_frame_resolve(uintptr_t addr, struct mg_pl_frame *f)
{
	Dl_info info;

	memset(f, 0, sizeof(*f));
	f->addr = addr;
	f->module = "?";
	/* A return address points after the call; addr - 1 is in the caller,
	 * even when the call was its last instruction. */
	if (addr == 0 || !dladdr((void *)(addr - 1), &info))
		return;
	f->located = true;
	if (info.dli_fname && *info.dli_fname)
		f->module = base_name(info.dli_fname);
	else
		f->module = program_invocation_short_name;
	f->offset = addr - (uintptr_t)info.dli_fbase;
	if (info.dli_sname && info.dli_saddr) {
		f->sym = info.dli_sname;
		f->sym_off = addr - (uintptr_t)info.dli_saddr;
	}
}
