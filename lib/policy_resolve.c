#include "policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool in_groups(const struct mg_identity *id, const char *group)
{
	for (size_t i = 0; i < id->ngroups; i++)
		if (strcmp(id->groups[i], group) == 0)
			return true;
	return false;
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
		return id->uid >= id->uid_min ? 1 : 0;
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
	if (lo <= up || c->r->v[upper].u.size.kind == MG_SIZE_MAX)
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

/* What "*" alone gives, with each more specific rule laid over it: finds
 * clashes between a rule and the defaults in one pass over the policy. */
static void validate_over_defaults(const struct mg_policy *p, struct mg_diags *d)
{
	struct mg_resolved base, merged;

	memset(&base, 0, sizeof(base));
	for (size_t i = 0; i < p->nrules; i++) {
		const struct mg_rule *r = &p->rules[i];
		if (r->who_kind != MG_WHO_ALL_USERS)
			continue;
		for (int k = 0; k < MG_KEY_COUNT; k++)
			if (r->v[k].set) {
				base.v[k] = r->v[k];
				base.src[k] = r;
			}
	}
	mg_resolved_validate(&base, p->memtotal, "*", true, d);
	for (size_t i = 0; i < p->nrules; i++) {
		const struct mg_rule *r = &p->rules[i];
		if (r->who_kind == MG_WHO_ALL_USERS || r->who_kind == MG_WHO_ALL_SESSIONS)
			continue;
		merged = base;
		for (int k = 0; k < MG_KEY_COUNT; k++)
			if (r->v[k].set) {
				merged.v[k] = r->v[k];
				merged.src[k] = r;
			}
		mg_resolved_validate(&merged, p->memtotal, r->who, true, d);
	}
}

void mg_policy_validate(const struct mg_policy *p, struct mg_diags *d)
{
	static const enum mg_key prot[] = { MG_KEY_MEMORY_MIN, MG_KEY_MEMORY_LOW };

	validate_over_defaults(p, d);
	if (p->memtotal == 0)
		return;
	/* The module sets each parent's protection to the sum of its children's,
	 * so the sum over users is what the kernel is asked to keep free. */
	for (size_t j = 0; j < sizeof(prot) / sizeof(prot[0]); j++) {
		uint64_t sum = 0;
		for (size_t i = 0; i < p->nrules; i++) {
			const struct mg_rule *r = &p->rules[i];
			const struct mg_value *v = &r->v[prot[j]];
			uint64_t b;

			if (r->who_kind != MG_WHO_USER || !v->set || v->u.size.kind == MG_SIZE_MAX)
				continue;
			b = mg_size_bytes(&v->u.size, p->memtotal);
			if (sum + b < sum || sum + b > p->memtotal) {
				mg_diag_add(d, MG_WARNING, MG_DIAG_CONTENT, r->file, r->line, v->col,
					    "the %s of the users named so far adds up to more than this machine's RAM",
					    mg_key_info(prot[j])->name);
				break;
			}
			sum += b;
		}
	}
}
