#include "symbolizer.h"

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A function symbol: libdwfl's own address-to-symbol lookup scans the
 * whole table each time, far too slow for logs with thousands of distinct
 * frames, so each module's functions are sorted once. */
struct func_sym {
	GElf_Addr addr, size;
	const char *name;
	bool global;
};

/* One module file, opened once: its own Dwfl, so that every module sits at
 * its link-time addresses (bias 0) and a log's offsets are used as they
 * are. */
struct module {
	struct func_sym *syms;
	size_t nsyms;
	char *path;
	unsigned char *want_id; /* the build-id the first line naming it gave */
	size_t want_id_len;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	enum mg_sym_status status; /* MG_SYM_FOUND: usable */
	const unsigned char *disk_id;
	size_t disk_id_len;
};

/* A looked-up address: logs repeat the same few call sites. */
struct cached {
	size_t module; /* index + 1; 0 = empty slot */
	uint64_t offset;
	struct mg_sym_result r;
};

struct mg_symbolizer {
	struct module *mods;
	size_t nmods, capmods;
	struct cached *slots;
	size_t nslots, used;
	char *debuginfo_path;
};

static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

struct mg_symbolizer *mg_symbolizer_new(void)
{
	return calloc(1, sizeof(struct mg_symbolizer));
}

void mg_symbolizer_free(struct mg_symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmods; i++) {
		if (s->mods[i].dwfl)
			dwfl_end(s->mods[i].dwfl);
		free(s->mods[i].path);
		free(s->mods[i].want_id);
		free(s->mods[i].syms);
	}
	free(s->mods);
	free(s->slots);
	free(s);
}

/* O_NONBLOCK: a FIFO planted at a logged path must not hang us. */
static int open_module(const char *path, enum mg_sym_status *status)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0) {
		*status = errno == ENOENT || errno == ENOTDIR ? MG_SYM_MISSING : MG_SYM_UNREADABLE;
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*status = MG_SYM_UNREADABLE;
		return -1;
	}
	return fd;
}

static void index_symbols(struct module *m);

static void module_load(struct module *m)
{
	Dwfl_Callbacks *cb;
	const unsigned char *bits;
	GElf_Addr vaddr;
	int fd, n;

	fd = open_module(m->path, &m->status);
	if (fd < 0)
		return;
	cb = (Dwfl_Callbacks *)&offline_callbacks;
	m->dwfl = dwfl_begin(cb);
	if (!m->dwfl) {
		close(fd);
		m->status = MG_SYM_UNREADABLE;
		return;
	}
	dwfl_report_begin(m->dwfl);
	/* Base 0 without p_vaddr: the module's own addresses, PIE or not. */
	m->mod = dwfl_report_elf(m->dwfl, m->path, m->path, fd, 0, false);
	dwfl_report_end(m->dwfl, NULL, NULL);
	if (!m->mod) {
		close(fd);
		m->status = MG_SYM_UNREADABLE;
		return;
	}
	n = dwfl_module_build_id(m->mod, &bits, &vaddr);
	if (n > 0) {
		m->disk_id = bits;
		m->disk_id_len = (size_t)n;
	}
	/* A build-id in the log that the file no longer has: another binary
	 * at the same path, whose addresses mean nothing for this log. */
	if (m->want_id_len &&
	    (m->disk_id_len != m->want_id_len || memcmp(m->disk_id, m->want_id, m->want_id_len) != 0)) {
		m->status = MG_SYM_REBUILT;
		return;
	}
	index_symbols(m);
	m->status = MG_SYM_FOUND;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct func_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Aliases: the global name first. */
	return (int)y->global - (int)x->global;
}

/* Both symbol tables as libdwfl merges them (.symtab, else .dynsym). */
static void index_symbols(struct module *m)
{
	int n = dwfl_module_getsymtab(m->mod);
	size_t k = 0;

	if (n <= 0 || !(m->syms = calloc((size_t)n, sizeof(*m->syms))))
		return;
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name = dwfl_module_getsym_info(m->mod, i, &sym, &addr, &shndx, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);

		if (!name || !*name || addr == 0 || shndx == SHN_UNDEF || (type != STT_FUNC && type != STT_GNU_IFUNC))
			continue;
		m->syms[k++] = (struct func_sym){ addr, sym.st_size, name, GELF_ST_BIND(sym.st_info) != STB_LOCAL };
	}
	m->nsyms = k;
	qsort(m->syms, k, sizeof(*m->syms), cmp_sym);
}

/* The function whose [addr, addr+size) holds pc. */
static const char *symbol_at(const struct module *m, GElf_Addr pc)
{
	size_t lo = 0, hi = m->nsyms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->syms[mid].addr <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* lo: the first above pc. Walk back over aliases and nested ones. */
	for (size_t i = lo; i-- > 0 && lo - i < 8;) {
		const struct func_sym *f = &m->syms[i];
		if (pc < f->addr + (f->size ? f->size : 1))
			return i > 0 && m->syms[i - 1].addr == f->addr && m->syms[i - 1].global ? m->syms[i - 1].name
												 : f->name;
	}
	return NULL;
}

static struct module *module_get(struct mg_symbolizer *s, const char *path, size_t len, const unsigned char *id,
				 size_t idlen, size_t *index)
{
	struct module *m;

	for (size_t i = 0; i < s->nmods; i++) {
		m = &s->mods[i];
		if (strlen(m->path) == len && memcmp(m->path, path, len) == 0 &&
		    m->want_id_len == idlen && (idlen == 0 || memcmp(m->want_id, id, idlen) == 0)) {
			*index = i;
			return m;
		}
	}
	if (s->nmods == s->capmods) {
		size_t cap = s->capmods ? s->capmods * 2 : 16;
		struct module *nm = realloc(s->mods, cap * sizeof(*nm));
		if (!nm)
			return NULL;
		s->mods = nm;
		s->capmods = cap;
	}
	m = &s->mods[s->nmods];
	memset(m, 0, sizeof(*m));
	m->path = strndup(path, len);
	m->want_id = idlen ? malloc(idlen) : NULL;
	if (!m->path || (idlen && !m->want_id)) {
		free(m->path);
		free(m->want_id);
		return NULL;
	}
	if (idlen)
		memcpy(m->want_id, id, idlen);
	m->want_id_len = idlen;
	/* "?" and names without a slash (the vDSO) are no files to open. */
	if (memchr(path, '/', len))
		module_load(m);
	else
		m->status = MG_SYM_MISSING;
	*index = s->nmods++;
	return m;
}

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *name;

	/* The plain name (C++ without its mangling); an inlined copy names
	 * its abstract origin. */
	name = dwarf_diename(die);
	if (!name && dwarf_attr_integrate(die, DW_AT_name, &a))
		name = dwarf_formstring(&a);
	return name;
}

static int die_udata(Dwarf_Die *die, unsigned attr)
{
	Dwarf_Attribute a;
	Dwarf_Word w;

	if (!dwarf_attr(die, attr, &a) || dwarf_formudata(&a, &w) != 0 || w > 0x7fffffff)
		return 0;
	return (int)w;
}

/* Functions inlined at pc, innermost first, then the function holding
 * them: the line table gives the innermost place, each inlined copy's
 * DW_AT_call_file/line the place in the function around it. */
static void add_scopes(Dwfl_Module *mod, Dwarf_Addr pc, struct mg_sym_result *r)
{
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = dwfl_module_addrdie(mod, pc, &bias), *scopes = NULL;
	Dwarf_Files *files = NULL;
	size_t nfiles = 0;
	int n;

	if (!cu)
		return;
	n = dwarf_getscopes(cu, pc - bias, &scopes);
	if (n <= 0)
		return;
	/* From an inlined copy dwarf_getscopes goes on with the scopes of its
	 * abstract definition; the functions it was inlined into are the
	 * scopes that hold the innermost DIE itself. */
	Dwarf_Die innermost = scopes[0];
	free(scopes);
	scopes = NULL;
	n = dwarf_getscopes_die(&innermost, &scopes);
	if (n <= 0)
		return;
	(void)dwarf_getsrcfiles(cu, &files, &nfiles);
	struct mg_sym_loc at = r->locs[0];
	size_t k = 0;
	for (int i = 0; i < n && k < MG_SYM_INLINE_MAX; i++) {
		int tag = dwarf_tag(&scopes[i]);

		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue;
		r->locs[k] = at;
		r->locs[k].function = die_name(&scopes[i]);
		r->locs[k].inlined = tag == DW_TAG_inlined_subroutine;
		k++;
		if (tag == DW_TAG_subprogram)
			break;
		/* Where this copy was inlined: the place in the next one out. */
		size_t fi = (size_t)die_udata(&scopes[i], DW_AT_call_file);
		at.file = files && fi < nfiles ? dwarf_filesrc(files, fi, NULL, NULL) : NULL;
		at.line = die_udata(&scopes[i], DW_AT_call_line);
		at.column = die_udata(&scopes[i], DW_AT_call_column);
	}
	if (k)
		r->nlocs = k;
	free(scopes);
}

static void lookup(struct module *m, uint64_t offset, struct mg_sym_result *r)
{
	/* The return address is after the call: look the call up. */
	Dwarf_Addr pc = offset ? offset - 1 : 0;
	Dwfl_Line *line;
	const char *name;

	memset(r, 0, sizeof(*r));
	r->status = m->status;
	if (m->status == MG_SYM_REBUILT) {
		r->disk_build_id = m->disk_id;
		r->disk_build_id_len = m->disk_id_len;
	}
	if (m->status != MG_SYM_FOUND)
		return;
	r->status = MG_SYM_NOTHING;
	name = symbol_at(m, pc);
	line = dwfl_module_getsrc(m->mod, pc);
	if (line) {
		int ln = 0, col = 0;
		r->locs[0].file = dwfl_lineinfo(line, NULL, &ln, &col, NULL, NULL);
		r->locs[0].line = ln;
		r->locs[0].column = col;
		r->nlocs = 1;
	}
	if (name || line) {
		if (!r->nlocs)
			r->nlocs = 1;
		r->locs[0].function = name;
		add_scopes(m->mod, pc, r);
		/* The symbol table's name where DWARF had none. */
		if (!r->locs[r->nlocs - 1].function)
			r->locs[r->nlocs - 1].function = name;
		r->status = r->locs[r->nlocs - 1].function ? MG_SYM_FOUND : MG_SYM_NOTHING;
	}
}

static size_t slot_of(size_t module, uint64_t offset, size_t nslots)
{
	uint64_t h = (offset ^ ((uint64_t)module << 48)) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & (nslots - 1);
}

static int grow(struct mg_symbolizer *s)
{
	size_t n = s->nslots ? s->nslots * 2 : 1024;
	struct cached *ns = calloc(n, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < s->nslots; i++) {
		if (!s->slots[i].module)
			continue;
		size_t j = slot_of(s->slots[i].module, s->slots[i].offset, n);
		while (ns[j].module)
			j = (j + 1) & (n - 1);
		ns[j] = s->slots[i];
	}
	free(s->slots);
	s->slots = ns;
	s->nslots = n;
	return 0;
}

int mg_symbolize(struct mg_symbolizer *s, const char *module, size_t module_len, const unsigned char *build_id,
		 size_t build_id_len, uint64_t offset, const struct mg_sym_result **out)
{
	size_t idx, j;
	struct module *m = module_get(s, module, module_len, build_id, build_id_len, &idx);

	if (!m)
		return -ENOMEM;
	if ((s->used + 1) * 2 > s->nslots && grow(s) < 0)
		return -ENOMEM;
	for (j = slot_of(idx + 1, offset, s->nslots); s->slots[j].module; j = (j + 1) & (s->nslots - 1))
		if (s->slots[j].module == idx + 1 && s->slots[j].offset == offset) {
			*out = &s->slots[j].r;
			return 0;
		}
	s->slots[j].module = idx + 1;
	s->slots[j].offset = offset;
	lookup(m, offset, &s->slots[j].r);
	s->used++;
	*out = &s->slots[j].r;
	return 0;
}
