// SPDX-License-Identifier: GPL-2.0
/*
 * Names of the policy's hooks, verdicts and reasons (from the kernel's UAPI
 * header), and the parser of the table policy's rules files:
 *
 *   # comment
 *   MATCH HOOK VERDICT
 *
 * MATCH is dev=NAME, pci=VVVV:DDDD, pci=VVVV:* or *; HOOK is trust,
 * dma_mode, resv_direct, pasid or dma_owner; VERDICT a name of the hook's
 * enum.  Any error rejects the whole file.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "policy_rules.h"

static const char *const hook_names[IOMMU_POLICY_NR_HOOKS] = {
	[IOMMU_POLICY_HOOK_DEV_TRUST] = "dev_trust",
	[IOMMU_POLICY_HOOK_DMA_MODE] = "dma_mode",
	[IOMMU_POLICY_HOOK_RESV_DIRECT] = "resv_direct",
	[IOMMU_POLICY_HOOK_PASID_ATTACH] = "pasid_attach",
	[IOMMU_POLICY_HOOK_DMA_OWNER] = "dma_owner",
};

/* The same hooks as rules name them: short where the kernel's name is long */
static const char *const rule_hook_names[IOMMU_POLICY_NR_HOOKS] = {
	[IOMMU_POLICY_HOOK_DEV_TRUST] = "trust",
	[IOMMU_POLICY_HOOK_DMA_MODE] = "dma_mode",
	[IOMMU_POLICY_HOOK_RESV_DIRECT] = "resv_direct",
	[IOMMU_POLICY_HOOK_PASID_ATTACH] = "pasid",
	[IOMMU_POLICY_HOOK_DMA_OWNER] = "dma_owner",
};

static const char *const trust_names[IOMMU_POLICY_TRUST_MAX] = {
	[IOMMU_POLICY_TRUST_DEFAULT] = "default",
	[IOMMU_POLICY_TRUST_TRUSTED] = "trusted",
	[IOMMU_POLICY_TRUST_UNTRUSTED] = "untrusted",
};

static const char *const dma_names[IOMMU_POLICY_DMA_MAX] = {
	[IOMMU_POLICY_DMA_DEFAULT] = "default",
	[IOMMU_POLICY_DMA_IDENTITY] = "identity",
	[IOMMU_POLICY_DMA_LAZY] = "lazy",
	[IOMMU_POLICY_DMA_STRICT] = "strict",
};

static const char *const resv_names[IOMMU_POLICY_RESV_MAX] = {
	[IOMMU_POLICY_RESV_DEFAULT] = "default",
	[IOMMU_POLICY_RESV_KEEP] = "keep",
	[IOMMU_POLICY_RESV_RELAX] = "relax",
};

static const char *const pasid_names[IOMMU_POLICY_PASID_MAX] = {
	[IOMMU_POLICY_PASID_DEFAULT] = "default",
	[IOMMU_POLICY_PASID_ALLOW] = "allow",
	[IOMMU_POLICY_PASID_DENY] = "deny",
	[IOMMU_POLICY_PASID_PHYS] = "phys",
	[IOMMU_POLICY_PASID_IOVA] = "iova",
};

static const char *const owner_names[IOMMU_POLICY_OWNER_MAX] = {
	[IOMMU_POLICY_OWNER_DEFAULT] = "default",
	[IOMMU_POLICY_OWNER_ALLOW] = "allow",
	[IOMMU_POLICY_OWNER_DENY] = "deny",
};

static const struct {
	const char *const *names;
	int n;
} verdicts[IOMMU_POLICY_NR_HOOKS] = {
	[IOMMU_POLICY_HOOK_DEV_TRUST] = { trust_names, IOMMU_POLICY_TRUST_MAX },
	[IOMMU_POLICY_HOOK_DMA_MODE] = { dma_names, IOMMU_POLICY_DMA_MAX },
	[IOMMU_POLICY_HOOK_RESV_DIRECT] = { resv_names, IOMMU_POLICY_RESV_MAX },
	[IOMMU_POLICY_HOOK_PASID_ATTACH] = { pasid_names, IOMMU_POLICY_PASID_MAX },
	[IOMMU_POLICY_HOOK_DMA_OWNER] = { owner_names, IOMMU_POLICY_OWNER_MAX },
};

static const char *const reason_names[IOMMU_POLICY_REASON_MAX] = {
	[IOMMU_POLICY_REASON_DEFAULT] = "default",
	[IOMMU_POLICY_REASON_APPLIED] = "applied",
	[IOMMU_POLICY_REASON_INVALID] = "invalid",
	[IOMMU_POLICY_REASON_NO_OPTIN] = "no_optin",
	[IOMMU_POLICY_REASON_LOCKDOWN] = "lockdown",
	[IOMMU_POLICY_REASON_DRIVER] = "driver",
	[IOMMU_POLICY_REASON_GROUP] = "group",
};

const char *policy_hook_name(int hook)
{
	return hook >= 0 && hook < IOMMU_POLICY_NR_HOOKS ? hook_names[hook] : NULL;
}

const char *policy_verdict_name(int hook, int verdict)
{
	if (hook < 0 || hook >= IOMMU_POLICY_NR_HOOKS || verdict < 0 ||
	    verdict >= verdicts[hook].n)
		return NULL;
	return verdicts[hook].names[verdict];
}

const char *policy_reason_name(int reason)
{
	return reason >= 0 && reason < IOMMU_POLICY_REASON_MAX ? reason_names[reason] : NULL;
}

int policy_hook_by_name(const char *name)
{
	for (int h = 0; h < IOMMU_POLICY_NR_HOOKS; h++)
		if (!strcmp(name, rule_hook_names[h]) || !strcmp(name, hook_names[h]))
			return h;
	return -1;
}

int policy_verdict_by_name(int hook, const char *name)
{
	for (int v = 0; v < verdicts[hook].n; v++)
		if (!strcmp(name, verdicts[hook].names[v]))
			return v;
	return -1;
}

/* "a, b, c or d" */
static void join_or(char *buf, size_t len, const char *const *names, int n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s",
				!i ? "" : i == n - 1 ? " or " : ", ", names[i]);
}

static void verdict_str(char *buf, size_t len, int hook, int v)
{
	const char *name = policy_verdict_name(hook, v);

	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%d", v);
}

void policy_describe(char *buf, size_t len, int hook, int proposed, int verdict,
		     int applied, int reason)
{
	char p[16], v[16], a[16], also[48] = "";

	verdict_str(p, sizeof(p), hook, proposed);
	verdict_str(v, sizeof(v), hook, verdict);
	verdict_str(a, sizeof(a), hook, applied);
	if (proposed != applied)
		snprintf(also, sizeof(also), "; the kernel proposed %s", p);
	switch (reason) {
	case IOMMU_POLICY_REASON_DEFAULT:
	case IOMMU_POLICY_REASON_APPLIED:
		snprintf(buf, len, "policy said %s, applied %s (%s%s)", v, a,
			 reason_names[reason], also);
		break;
	case IOMMU_POLICY_REASON_INVALID:
		snprintf(buf, len, "policy returned %s, out of range: applied %s "
			 "(invalid: the kernel detached the policy)", v, a);
		break;
	case IOMMU_POLICY_REASON_NO_OPTIN:
		snprintf(buf, len, "policy said %s, clamped to %s (no_optin: loosening "
			 "needs iommu_policy.allow_loosen=1 on the kernel command line)", v, a);
		break;
	case IOMMU_POLICY_REASON_LOCKDOWN:
		snprintf(buf, len, "policy said %s, clamped to %s (lockdown: the kernel "
			 "is locked down)", v, a);
		break;
	case IOMMU_POLICY_REASON_DRIVER:
		snprintf(buf, len, "policy said %s, clamped to %s (driver: the IOMMU "
			 "driver or a platform quirk requires it)", v, a);
		break;
	case IOMMU_POLICY_REASON_GROUP:
		snprintf(buf, len, "policy said %s, not in effect (group: the device "
			 "shares a domain chosen without it with devices in use; unbind "
			 "their drivers and write 'auto' to the group's type)", v);
		break;
	default:
		snprintf(buf, len, "policy said %s, applied %s (reason %d)", v, a, reason);
		break;
	}
}

/* ----------------------------------------------- the kernel's policy checks */

/*
 * The kernel's isalnum(): its ctype table is Latin-1, so bytes 0xc0-0xff
 * but for 0xd7 and 0xf7 are letters too (not the host's, locale dependent)
 */
static bool kernel_isalnum(unsigned char c)
{
	if (c >= 0xc0)
		return c != 0xd7 && c != 0xf7;
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Up to n bytes of s, to quote in a message: other than printable ASCII as \xNN */
static void quote_bytes(char *buf, size_t len, const char *s, size_t n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && s[i] && off + 5 <= len; i++) {
		unsigned char c = s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[off++] = c;
		else
			off += snprintf(buf + off, len - off, "\\x%02x", c);
		buf[off] = '\0';
	}
}

bool policy_name_valid(const char *name, size_t size, char *why, size_t len)
{
	char q[4 * IOMMU_POLICY_NAME_LEN + 1], c[8];
	size_t n;

	for (n = 0; n < size && name[n]; n++)
		if (!kernel_isalnum(name[n]) && name[n] != '_' && name[n] != '.')
			break;
	if (n < size && !name[n] && n)
		return true;
	if (!why)
		return false;
	quote_bytes(q, sizeof(q), name, size);
	quote_bytes(c, sizeof(c), name + n, n < size ? 1 : 0);
	if (n == size)
		snprintf(why, len, "policy name '%s' is longer than %zu characters", q,
			 size - 1);
	else if (!name[n])
		snprintf(why, len, "policy name is empty (expected 1 to %zu letters, digits, "
			 "'_' or '.')", size - 1);
	else
		snprintf(why, len, "policy name '%s' may only contain letters, digits, '_' "
			 "and '.' (not '%s')", q, c);
	return false;
}

/* Append "; " (unless first) and fmt to buf */
static void add_reason(char *buf, size_t len, const char *fmt, ...)
{
	size_t off = strlen(buf);
	va_list ap;

	if (off && off + 2 < len) {
		memcpy(buf + off, "; ", 3);
		off += 2;
	}
	if (off + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + off, len - off, fmt, ap);
	va_end(ap);
}

bool policy_ops_invalid(const struct policy_ops_view *ops, char *why, size_t len)
{
	static const char zeros[IOMMU_POLICY_NAME_LEN];
	char name[200], hooks[128];

	why[0] = '\0';
	/* iommu_policy_init_member(), then iommu_policy_validate_ops() */
	if (!policy_name_valid(ops->name ? ops->name : zeros, IOMMU_POLICY_NAME_LEN, name,
			       sizeof(name)))
		add_reason(why, len, "%s", name);
	if (ops->flags)
		add_reason(why, len, "flags is %#llx (expected 0)",
			   (unsigned long long)ops->flags);
	if (!(ops->callbacks & ((1U << IOMMU_POLICY_NR_HOOKS) - 1))) {
		join_or(hooks, sizeof(hooks), hook_names, IOMMU_POLICY_NR_HOOKS);
		add_reason(why, len, "it implements no decision callback (expected at least "
			   "one of %s)", hooks);
	}
	return why[0];
}

bool policy_init_failed(const struct policy_exit_snap *before,
			const struct policy_exit_snap *now, int err, char *msg, size_t len)
{
	bool same = !strcmp(before->kind, now->kind) && !strcmp(before->msg, now->msg);

	if (!strcmp(now->kind, "error_init") && !same) {
		snprintf(msg, len, "%s", now->msg);
		return true;
	}
	/* A replacement: init() failed, the exit record is the old one's */
	if (before->nr_errors >= 0 && now->nr_errors == before->nr_errors + 1 && same) {
		snprintf(msg, len, "init() failed with %s", strerror(-err));
		return true;
	}
	return false;
}

/* ------------------------------------------------------------- the parser */

struct parse_state {
	const char *fname;
	int line;
	char *err;
	size_t errlen;
};

static int fail(struct parse_state *ps, const char *fmt, ...)
{
	size_t off;
	va_list ap;

	off = snprintf(ps->err, ps->errlen, "%s:%d: ", ps->fname, ps->line);
	if (off < ps->errlen) {
		va_start(ap, fmt);
		vsnprintf(ps->err + off, ps->errlen - off, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static const char match_expected[] =
	"(expected dev=NAME, pci=VVVV:DDDD, pci=VVVV:* or *)";

static int hex4(const char *s, unsigned int *out)
{
	unsigned int v = 0;

	for (int i = 0; i < 4; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return -1;
		v = v << 4 | (isdigit((unsigned char)s[i]) ? s[i] - '0' :
			      tolower((unsigned char)s[i]) - 'a' + 10);
	}
	*out = v;
	return 0;
}

static int parse_match(struct parse_state *ps, const char *tok, struct policy_rule *r)
{
	unsigned int vendor, device;

	memset(r, 0, sizeof(*r));
	if (!strcmp(tok, "*")) {
		r->match = MATCH_ANY;
		return 0;
	}
	if (!strncmp(tok, "dev=", 4)) {
		const char *name = tok + 4;

		if (!*name)
			return fail(ps, "empty device name (expected dev=NAME, e.g. "
				    "dev=0000:00:03.0)");
		if (strlen(name) >= POLICY_TABLE_NAME_LEN)
			return fail(ps, "device name '%s' is too long (expected at most %d "
				    "characters)", name, POLICY_TABLE_NAME_LEN - 1);
		r->match = MATCH_DEV;
		strcpy(r->name, name);
		return 0;
	}
	if (!strncmp(tok, "pci=", 4)) {
		const char *id = tok + 4;

		if (strlen(id) == 6 && !hex4(id, &vendor) && !strcmp(id + 4, ":*")) {
			r->match = MATCH_PCI_VENDOR;
			r->pci = vendor << 16 | POLICY_TABLE_ANY_DEVICE;
			return 0;
		}
		if (strlen(id) == 9 && !hex4(id, &vendor) && id[4] == ':' &&
		    !hex4(id + 5, &device) && device != POLICY_TABLE_ANY_DEVICE) {
			r->match = MATCH_PCI;
			r->pci = vendor << 16 | device;
			return 0;
		}
		return fail(ps, "bad PCI id '%s' (expected pci=VVVV:DDDD or pci=VVVV:*, "
			    "4 hex digits each, e.g. pci=8086:1533)", id);
	}
	return fail(ps, "unknown match '%s' %s", tok, match_expected);
}

static bool same_match(const struct policy_rule *a, const struct policy_rule *b)
{
	if (a->match != b->match)
		return false;
	switch (a->match) {
	case MATCH_DEV:
		return !strcmp(a->name, b->name);
	case MATCH_PCI:
	case MATCH_PCI_VENDOR:
		return a->pci == b->pci;
	default:
		return true;
	}
}

/* Entries each map of the table policy would hold */
static size_t map_entries(const struct policy_rules *rs, bool dev_map)
{
	size_t n = 0;

	for (size_t i = 0; i < rs->n; i++)
		if (dev_map ? rs->rules[i].match == MATCH_DEV :
			      rs->rules[i].match == MATCH_PCI ||
			      rs->rules[i].match == MATCH_PCI_VENDOR)
			n++;
	return n;
}

static int add_rule(struct parse_state *ps, struct policy_rules *rs,
		    const struct policy_rule *m, const char *match_tok, int hook,
		    int verdict)
{
	struct policy_rule *r = NULL;

	for (size_t i = 0; i < rs->n; i++)
		if (same_match(&rs->rules[i], m)) {
			r = &rs->rules[i];
			break;
		}
	if (r && (r->entry.set & 1U << hook))
		return fail(ps, "%s %s is already set on line %d (expected one verdict per "
			    "match and hook)", match_tok, rule_hook_names[hook],
			    r->line[hook]);
	if (!r) {
		if ((m->match == MATCH_DEV || m->match == MATCH_PCI ||
		     m->match == MATCH_PCI_VENDOR) &&
		    map_entries(rs, m->match == MATCH_DEV) >= POLICY_TABLE_MAX_RULES)
			return fail(ps, "too many %s rules (expected at most %d)",
				    m->match == MATCH_DEV ? "dev=" : "pci=",
				    POLICY_TABLE_MAX_RULES);
		if (rs->n == rs->cap) {
			size_t cap = rs->cap ? rs->cap * 2 : 16;
			struct policy_rule *p = realloc(rs->rules, cap * sizeof(*p));

			if (!p)
				return fail(ps, "%s", strerror(ENOMEM));
			rs->rules = p;
			rs->cap = cap;
		}
		r = &rs->rules[rs->n++];
		*r = *m;
	}
	r->entry.set |= 1U << hook;
	r->entry.verdict[hook] = verdict;
	r->line[hook] = ps->line;
	return 0;
}

/* The next whitespace-separated token of *s, or NULL */
static char *next_token(char **s)
{
	char *p = *s, *tok;

	while (*p && isspace((unsigned char)*p))
		p++;
	if (!*p)
		return NULL;
	tok = p;
	while (*p && !isspace((unsigned char)*p))
		p++;
	if (*p)
		*p++ = '\0';
	*s = p;
	return tok;
}

static int parse_line(struct parse_state *ps, struct policy_rules *rs, char *line)
{
	char hooks[96], names[96];
	struct policy_rule m;
	char *p = line, *match, *hook_tok, *verdict_tok, *extra;
	int hook, verdict;

	line[strcspn(line, "#")] = '\0';
	match = next_token(&p);
	if (!match)
		return 0;
	join_or(hooks, sizeof(hooks), rule_hook_names, IOMMU_POLICY_NR_HOOKS);
	if (parse_match(ps, match, &m))
		return -1;
	hook_tok = next_token(&p);
	if (!hook_tok)
		return fail(ps, "missing hook after '%s' (expected %s)", match, hooks);
	hook = policy_hook_by_name(hook_tok);
	if (hook < 0)
		return fail(ps, "unknown hook '%s' (expected %s)", hook_tok, hooks);
	join_or(names, sizeof(names), verdicts[hook].names, verdicts[hook].n);
	verdict_tok = next_token(&p);
	if (!verdict_tok)
		return fail(ps, "missing verdict after '%s' (expected %s)", hook_tok, names);
	verdict = policy_verdict_by_name(hook, verdict_tok);
	if (verdict < 0)
		return fail(ps, "'%s' is not a %s verdict (expected %s)", verdict_tok,
			    rule_hook_names[hook], names);
	extra = next_token(&p);
	if (extra)
		return fail(ps, "unexpected '%s' after the verdict (expected one rule per "
			    "line: MATCH HOOK VERDICT)", extra);
	rs->lines++;
	return add_rule(ps, rs, &m, match, hook, verdict);
}

int policy_rules_parse(FILE *f, const char *fname, struct policy_rules *rs,
		       char *err, size_t errlen)
{
	struct parse_state ps = { .fname = fname, .err = err, .errlen = errlen };
	char *line = NULL;
	size_t cap = 0;
	int ret = 0;

	memset(rs, 0, sizeof(*rs));
	err[0] = '\0';
	while (getline(&line, &cap, f) >= 0) {
		ps.line++;
		if (parse_line(&ps, rs, line)) {
			ret = -1;
			break;
		}
	}
	if (!ret && ferror(f)) {
		snprintf(err, errlen, "%s: %s", fname, strerror(errno));
		ret = -1;
	}
	free(line);
	if (ret)
		policy_rules_free(rs);
	return ret;
}

int policy_rules_read(const char *path, struct policy_rules *rs, char *err,
		      size_t errlen)
{
	FILE *f = fopen(path, "r");
	int ret;

	if (!f) {
		memset(rs, 0, sizeof(*rs));
		snprintf(err, errlen, "%s: cannot read the rules file: %s", path,
			 strerror(errno));
		return -1;
	}
	ret = policy_rules_parse(f, path, rs, err, errlen);
	fclose(f);
	return ret;
}

void policy_rules_free(struct policy_rules *rs)
{
	free(rs->rules);
	memset(rs, 0, sizeof(*rs));
}

void policy_match_str(const struct policy_rule *r, char *buf, size_t len)
{
	switch (r->match) {
	case MATCH_DEV:
		snprintf(buf, len, "dev=%s", r->name);
		break;
	case MATCH_PCI:
		snprintf(buf, len, "pci=%04x:%04x", r->pci >> 16, r->pci & 0xffff);
		break;
	case MATCH_PCI_VENDOR:
		snprintf(buf, len, "pci=%04x:*", r->pci >> 16);
		break;
	default:
		snprintf(buf, len, "*");
		break;
	}
}

void policy_rules_print(const struct policy_rules *rs, FILE *f)
{
	char m[POLICY_TABLE_NAME_LEN + 8];

	for (int kind = MATCH_DEV; kind <= MATCH_ANY; kind++)
		for (size_t i = 0; i < rs->n; i++) {
			const struct policy_rule *r = &rs->rules[i];

			if ((int)r->match != kind)
				continue;
			policy_match_str(r, m, sizeof(m));
			for (int h = 0; h < IOMMU_POLICY_NR_HOOKS; h++)
				if (r->entry.set & 1U << h)
					fprintf(f, "%s %s %s\n", m, rule_hook_names[h],
						verdicts[h].names[r->entry.verdict[h]]);
		}
}
