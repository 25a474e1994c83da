#include "symbolize.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <execinfo.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "preload.h"

static const void *self_base;
/* The loader names the executable "": its path is read once, at start. */
static char exe_path[4096];

static bool in_self(uintptr_t addr)
{
	Dl_info info;

	return dladdr((void *)addr, &info) && info.dli_fbase == self_base;
}

void mg_pl_backtrace_warm(void)
{
	static const char deleted[] = " (deleted)";
	Dl_info info;
	void *buf[4];
	ssize_t n;

	if (dladdr((void *)&mg_pl_backtrace_warm, &info))
		self_base = info.dli_fbase;
	(void)backtrace(buf, 4);
	n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
	if (n < 0)
		n = 0;
	exe_path[n] = '\0';
	/* Replaced while starting: name the path, the build-id tells the rest. */
	if ((size_t)n > sizeof(deleted) - 1 && strcmp(exe_path + n - (sizeof(deleted) - 1), deleted) == 0)
		exe_path[n - (sizeof(deleted) - 1)] = '\0';
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

static size_t note_align(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* The NT_GNU_BUILD_ID note among the module's PT_NOTE segments, read
 * where the loader mapped it. The program headers are found through the
 * ELF header at the module's start (the first page, mapped with it), not
 * through dl_iterate_phdr: that takes the loader's write lock, which fork
 * does not reset, and a child forked while another thread held it would
 * hang in its first report. */
static void read_build_id(const void *base, uintptr_t bias, struct mg_pl_frame *f)
{
	const ElfW(Ehdr) *eh = base;
	const ElfW(Phdr) *phdr;

	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_phentsize != sizeof(ElfW(Phdr)) ||
	    eh->e_phnum == 0 || eh->e_phnum > 128 || eh->e_phoff + (size_t)eh->e_phnum * sizeof(ElfW(Phdr)) > 4096)
		return;
	phdr = (const ElfW(Phdr) *)((const char *)base + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		const ElfW(Phdr) *ph = &phdr[i];
		size_t a = ph->p_align == 8 ? 8 : 4, pos = 0;
		const unsigned char *p = (const unsigned char *)(bias + ph->p_vaddr);

		if (ph->p_type != PT_NOTE)
			continue;
		while (pos + sizeof(ElfW(Nhdr)) <= ph->p_filesz) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)(p + pos);
			size_t name = pos + sizeof(*nh), desc = name + note_align(nh->n_namesz, a);
			size_t next = desc + note_align(nh->n_descsz, a);

			if (desc > ph->p_filesz || next > ph->p_filesz || next <= pos)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(p + name, "GNU", 4) == 0 &&
			    nh->n_descsz > 0 && nh->n_descsz <= MG_PL_BUILD_ID_MAX) {
				memcpy(f->build_id, p + desc, nh->n_descsz);
				f->build_id_len = nh->n_descsz;
				return;
			}
			pos = next;
		}
	}
}

void mg_pl_frame_resolve(uintptr_t addr, struct mg_pl_frame *f)
{
	Dl_info info;
	struct link_map *lm = NULL;

	memset(f, 0, sizeof(*f));
	f->addr = addr;
	f->module = "?";
	/* A return address points after the call; addr - 1 is in the caller,
	 * even when the call was its last instruction. */
	if (addr == 0 || !dladdr1((void *)(addr - 1), &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
		return;
	f->located = true;
	f->bias = lm->l_addr;
	f->offset = addr - lm->l_addr;
	f->module = lm->l_name && *lm->l_name ? lm->l_name
		    : exe_path[0]              ? exe_path
						 : program_invocation_short_name;
	if (info.dli_fbase)
		read_build_id(info.dli_fbase, lm->l_addr, f);
	if (info.dli_sname && info.dli_saddr) {
		f->sym = info.dli_sname;
		f->sym_off = addr - (uintptr_t)info.dli_saddr;
	}
}
