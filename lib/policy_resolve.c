#include "policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mg_identity_need(const struct mg_identity *id, unsigned need)
{
	if (id->later && (id->later->pending & need))
		id->later->look_up(id->later, id->later->pending & need);
}

static bool in_groups(const struct mg_identity *id, const char *group)
{
	mg_identity_need(id, MG_NEED_GROUPS);
	for (size_t i = 0; i < id->ngroups; i++)
		if (strcmp(id->groups[i], group) == 0)
			return true;
	return false;
}

enum mg_all_users_reason mg_all_users_covers(const struct mg_identity *id)
{
	/* The uids that are never a login come first: they need no UID_MIN. */
	if (id->uid == MG_OVERFLOW_UID)
		return MG_ALL_USERS_OVERFLOW_UID;
	if (id->uid >= (uid_t)-2)
		return MG_ALL_USERS_RESERVED_UID;
	mg_identity_need(id, MG_NEED_UID_RANGE);
	if (id->uid < id->uid_min)
		return MG_ALL_USERS_BELOW_UID_MIN;
	return MG_ALL_USERS_COVERED;
}

int mg_rule_rank(const struct mg_rule *r, const struct mg_identity *id)
{
	switch (r->who_kind) {
	case MG_WHO_USER:
		return strcmp(r->who, id->name) == 0 ? 4 : 0;
	case MG_WHO_GROUP:
		return in_groups(id, r->who + 1) ? 3 : 0;
	case MG_WHO_UID_RANGE:
		return id->uid >= r->uid_min && id->uid <= r->uid_max ? 2 : 0;
	case MG_WHO_ALL_USERS:
		return mg_all_users_covers(id) == MG_ALL_USERS_COVERED ? 1 : 0;
	case MG_WHO_ALL_SESSIONS:
	default:
		return 0;
	}
}

void mg_policy_resolve(const struct mg_policy *p, const struct mg_identity *id, struct mg_resolved *out)
{
	int rank[MG_KEY_COUNT] = { 0 };

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < p->nrules; i++) {
		const struct mg_rule *r = &p->rules[i];
		int rr = mg_rule_rank(r, id);

		if (rr == 0)
			continue;
		for (int k = 0; k < MG_KEY_COUNT; k++) {
			/* ">=": rules come in reading order, so the later line wins. */
			if (r->v[k].set && rr >= rank[k]) {
				rank[k] = rr;
				out->v[k] = r->v[k];
				out->src[k] = r;
			}
		}
	}
}

void mg_policy_resolve_all_sessions(const struct mg_policy *p, struct mg_resolved *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < p->nrules; i++) {
		const struct mg_rule *r = &p->rules[i];

		if (r->who_kind != MG_WHO_ALL_SESSIONS)
			continue;
		for (int k = 0; k < MG_KEY_COUNT; k++) {
			if (r->v[k].set) {
				out->v[k] = r->v[k];
				out->src[k] = r;
			}
		}
	}
}

bool mg_resolved_exempt(const struct mg_resolved *r)
{
	return r->v[MG_KEY_EXEMPT].set && r->v[MG_KEY_EXEMPT].u.flag;
}

static bool bytes_of(const struct mg_resolved *r, enum mg_key k, uint64_t memtotal, uint64_t *out)
{
	if (!r->v[k].set)
		return false;
	if (r->v[k].u.size.kind == MG_SIZE_PERCENT && memtotal == 0)
		return false;
	*out = mg_size_bytes(&r->v[k].u.size, memtotal);
	return true;
}

struct pair_ctx {
	const struct mg_resolved *r;
	bool cross_only;
	uint64_t memtotal;
	const char *who;
	struct mg_diags *d;
};

/* Reports at the later of the two settings, naming the other one's place
 * when they come from different lines. */
__attribute__((format(printf, 5, 6)))
static void pair_diag(struct pair_ctx *c, enum mg_severity sev, enum mg_key a, enum mg_key b, const char *fmt,
		      ...)
{
	const struct mg_rule *ra = c->r->src[a], *rb = c->r->src[b];
	/* The later rule is where the clash arises; on one line, the first key. */
	bool at_a = ra >= rb;
	const struct mg_rule *at = at_a ? ra : rb, *other = at_a ? rb : ra;
	enum mg_key atk = at_a ? a : b;
	char msg[384];
	va_list ap;

	if (ra == rb && c->cross_only)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ra == rb)
		mg_diag_add(c->d, sev, MG_DIAG_CONTENT, at->file, at->line, c->r->v[atk].col, "%s", msg);
	else
		mg_diag_add(c->d, sev, MG_DIAG_CONTENT, at->file, at->line, c->r->v[atk].col,
			    "%s (for %s, with %s:%u)", msg, c->who ? c->who : "this rule", other->file, other->line);
}

static void check_above(struct pair_ctx *c, enum mg_severity sev, enum mg_key lower, enum mg_key upper,
			const char *why)
{
	uint64_t lo, up;
	char a[32], b[32];

	if (!bytes_of(c->r, lower, c->memtotal, &lo) || !bytes_of(c->r, upper, c->memtotal, &up))
		return;
	/* "max" on the lower one is the kernel's default, not a clash. */
	if (lo <= up || c->r->v[upper].u.size.kind == MG_SIZE_MAX || c->r->v[lower].u.size.kind == MG_SIZE_MAX)
		return;
	mg_value_format(lower, &c->r->v[lower], a, sizeof(a));
	mg_value_format(upper, &c->r->v[upper], b, sizeof(b));
	pair_diag(c, sev, lower, upper, "%s=%s is above %s=%s%s", mg_key_info(lower)->name, a,
		  mg_key_info(upper)->name, b, why);
}

static bool caps_memory(const struct mg_resolved *r, enum mg_key k)
{
	return r->v[k].set && mg_key_info(k)->is_cap && r->v[k].u.size.kind != MG_SIZE_MAX;
}

void mg_resolved_validate(const struct mg_resolved *r, uint64_t memtotal, const char *who, bool cross_only,
			  struct mg_diags *d)
{
	struct pair_ctx c = { r, cross_only, memtotal, who, d };

	if (mg_resolved_exempt(r))
		return;
	check_above(&c, MG_ERROR, MG_KEY_MEMORY_HIGH, MG_KEY_MEMORY_MAX, "");
	check_above(&c, MG_ERROR, MG_KEY_SESSION_MEMORY_HIGH, MG_KEY_SESSION_MEMORY_MAX, "");
	check_above(&c, MG_WARNING, MG_KEY_SESSION_MEMORY_MAX, MG_KEY_MEMORY_MAX,
		    ": the user's total caps every session first");
	check_above(&c, MG_WARNING, MG_KEY_MEMORY_MIN, MG_KEY_MEMORY_MAX, ": the protection can never be reached");
	check_above(&c, MG_WARNING, MG_KEY_MEMORY_LOW, MG_KEY_MEMORY_MAX, ": the protection can never be reached");
	if (r->v[MG_KEY_OOM_SCORE_ADJ].set && r->v[MG_KEY_OOM_SCORE_ADJ].u.num == -1000) {
		for (int k = 0; k < MG_KEY_COUNT; k++) {
			if (!caps_memory(r, (enum mg_key)k))
				continue;
			pair_diag(&c, MG_ERROR, MG_KEY_OOM_SCORE_ADJ, (enum mg_key)k,
				  "oom_score_adj=-1000 together with %s: unkillable tasks stall at the cap "
				  "instead of being OOM-killed",
				  mg_key_info((enum mg_key)k)->name);
			break;
		}
	}
}

static bool same_who(const struct mg_rule *x, const struct mg_rule *y)
{
	return x == y || strcmp(x->who, y->who) == 0;
}

static void merge_rule(struct mg_resolved *into, const struct mg_rule *r)
{
	for (int k = 0; k < MG_KEY_COUNT; k++)
		if (r->v[k].set) {
			into->v[k] = r->v[k];
			into->src[k] = r;
		}
}

/* Every target's lines merged as a login would see them, then laid over
 * what "*" gives: finds clashes between a target and the defaults (and
 * among one target's own lines) in one pass. Clashes that need group
 * membership to arise are found by show and at login. */
static void validate_targets(const struct mg_policy *p, const struct mg_rule *const *sorted, struct mg_diags *d)
{
	struct mg_resolved base, merged;
	size_t i = 0;

	memset(&base, 0, sizeof(base));
	for (size_t j = 0; j < p->nrules; j++)
		if (p->rules[j].who_kind == MG_WHO_ALL_USERS)
			merge_rule(&base, &p->rules[j]);
	while (i < p->nrules) {
		const struct mg_rule *first = sorted[i];
		bool defaults = first->who_kind == MG_WHO_ALL_USERS, all = first->who_kind == MG_WHO_ALL_SESSIONS;

		if (defaults)
			merged = base;
		else if (all)
			memset(&merged, 0, sizeof(merged));
		else
			merged = base;
		for (; i < p->nrules && same_who(sorted[i], first); i++)
			if (!defaults)
				merge_rule(&merged, sorted[i]);
		mg_resolved_validate(&merged, p->memtotal, first->who, true, d);
	}
}

/* The module sets each parent's protection to the sum of its children's,
 * so the sum over users is what the kernel is asked to keep free. */
static void validate_protection_sum(const struct mg_policy *p, const struct mg_rule *const *sorted, enum mg_key key,
				    struct mg_diags *d)
{
	uint64_t sum = 0;
	size_t i = 0;

	while (i < p->nrules) {
		const struct mg_rule *first = sorted[i], *last_set = NULL;

		for (; i < p->nrules && same_who(sorted[i], first); i++)
			if (sorted[i]->v[key].set)
				last_set = sorted[i];
		if (first->who_kind != MG_WHO_USER || !last_set || last_set->v[key].u.size.kind == MG_SIZE_MAX)
			continue;
		uint64_t b = mg_size_bytes(&last_set->v[key].u.size, p->memtotal);
		if (sum + b < sum || sum + b > p->memtotal) {
			mg_diag_add(d, MG_WARNING, MG_DIAG_CONTENT, last_set->file, last_set->line, last_set->v[key].col,
				    "the %s of the users named in the policy adds up to more than this machine's RAM",
				    mg_key_info(key)->name);
			return;
		}
		sum += b;
	}
}

/* A rule each of whose settings a later rule for the same target sets
 * again has no effect: most often an old line left behind by an edit. */
static void validate_overridden(const struct mg_policy *p, const struct mg_rule *const *sorted, struct mg_diags *d)
{
	size_t i = 0;

	while (i < p->nrules) {
		const struct mg_rule *later[MG_KEY_COUNT] = { NULL };
		size_t start = i, end = i;

		while (end < p->nrules && same_who(sorted[end], sorted[start]))
			end++;
		/* Backwards: later[k] is the last rule of the target that sets k. */
		for (size_t j = end; j-- > start;) {
			const struct mg_rule *r = sorted[j], *by[MG_KEY_COUNT];
			size_t nby = 0;
			bool any = false, all = true;

			for (int k = 0; k < MG_KEY_COUNT; k++) {
				size_t b = 0;

				if (!r->v[k].set)
					continue;
				any = true;
				if (!later[k]) {
					all = false;
					break;
				}
				while (b < nby && by[b] != later[k])
					b++;
				if (b == nby)
					by[nby++] = later[k];
			}
			if (any && all) {
				char where[512];
				size_t n = 0;

				where[0] = '\0';
				for (size_t b = 0; b < nby && n < sizeof(where); b++)
					n += (size_t)snprintf(where + n, sizeof(where) - n, "%s%s:%u", b ? ", " : "",
							      by[b]->file, by[b]->line);
				mg_diag_add(d, MG_WARNING, MG_DIAG_CONTENT, r->file, r->line, 1,
					    "this rule has no effect: every setting of it is set again by a later rule "
					    "for '%s' (%s)",
					    r->who, where);
			}
			for (int k = 0; k < MG_KEY_COUNT; k++)
				if (r->v[k].set && !later[k])
					later[k] = r;
		}
		i = end;
	}
}

void mg_policy_validate_ordered(const struct mg_policy *p, const struct mg_rule *const *by_who,
				struct mg_diags *d)
{
	validate_targets(p, by_who, d);
	validate_overridden(p, by_who, d);
	if (p->memtotal) {
		validate_protection_sum(p, by_who, MG_KEY_MEMORY_MIN, d);
		validate_protection_sum(p, by_who, MG_KEY_MEMORY_LOW, d);
	}
}

void mg_policy_validate(const struct mg_policy *p, struct mg_diags *d)
{
	const struct mg_rule **sorted = mg_policy_by_who(p);

	if (!sorted) {
		d->oom = true;
		return;
	}
	mg_policy_validate_ordered(p, sorted, d);
	free(sorted);
}
