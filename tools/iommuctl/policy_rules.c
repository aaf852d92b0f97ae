// SPDX-License-Identifier: GPL-2.0
/*
 * The parser of the table policy's rules files, and its matcher:
 *
 *   # comment
 *   COND... HOOK VERDICT
 *
 * COND is key=value (dev=, pci=, class=, bdf=, fw=, resv=, iommu=, owner=)
 * or * alone; HOOK is trust, dma_mode, resv_direct, pasid or dma_owner;
 * VERDICT a name of the hook's enum.  Any error rejects the whole file.
 * The format and the precedence rule: iommu-policy.rules(5), from
 * tools/iommuctl/doc/iommu-policy.rules.5.rst.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "policy_names.h"
#include "policy_rules.h"


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
	"(expected dev=, pci=, class=, bdf=, fw=, resv=, iommu=, owner= or *)";

/* Names of enum iommu_policy_fw_flags bits, from bit 0; "external" is read
 * as external_facing too */
static const char *const fw_names[] = { "untrusted", "removable", "external_facing", "pci" };
#define NR_FW (sizeof(fw_names) / sizeof(fw_names[0]))

static int hexval(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* Exactly n hex digits, the whole of s[0..n) */
static bool hexn(const char *s, size_t n, unsigned int *out)
{
	unsigned int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return false;
		v = v << 4 | hexval(s[i]);
	}
	*out = v;
	return true;
}

/* "8086", "*" (any): one half of pci= */
static bool pci_half(const char *s, size_t n, unsigned int *val, unsigned int *mask)
{
	if (n == 1 && s[0] == '*') {
		*val = *mask = 0;
		return true;
	}
	*mask = 0xffff;
	return n == 4 && hexn(s, 4, val);
}

static int cond_pci(struct parse_state *ps, const char *v, struct policy_table_rule *t)
{
	const char *colon = strchr(v, ':');
	unsigned int vv, vm, dv, dm;

	if (!colon || !pci_half(v, colon - v, &vv, &vm) ||
	    !pci_half(colon + 1, strlen(colon + 1), &dv, &dm) || (dm && dv == 0xffff))
		return fail(ps, "bad PCI id '%s' (expected pci=VVVV:DDDD, 4 hex digits each or "
			    "*, e.g. pci=8086:1533 or pci=10de:*)", v);
	t->pci = vv << 16 | dv;
	t->pci_mask = vm << 16 | dm;
	return 0;
}

static int cond_class(struct parse_state *ps, const char *v, struct policy_table_rule *t)
{
	size_t n = strlen(v);
	unsigned int c;

	if ((n != 2 && n != 4 && n != 6) || !hexn(v, n, &c))
		return fail(ps, "bad class '%s' (expected class=CC, CCSS or CCSSPP in hex: class, "
			    "subclass, prog-if, e.g. class=0108 for NVMe)", v);
	t->class = c << (24 - 4 * n);
	t->class_mask = 0xffffff & ~((1U << (24 - 4 * n)) - 1);
	return 0;
}

static int cond_fw(struct parse_state *ps, const char *v, struct policy_table_rule *t)
{
	char buf[128], *save, *w;
	size_t k;

	if (strlen(v) >= sizeof(buf) || !*v)
		goto bad;
	strcpy(buf, v);
	for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		bool neg = *w == '!';
		__u32 bit;

		for (k = 0; k < NR_FW && strcmp(w + neg, fw_names[k]); k++)
			;
		/* what admins call it (firmware's ExternalFacingPort) */
		if (!strcmp(w + neg, "external"))
			k = __builtin_ctz(IOMMU_POLICY_FW_EXTERNAL_FACING);
		if (k == NR_FW)
			goto bad;
		bit = 1U << k;
		if ((t->fw_set | t->fw_clear) & bit)
			return fail(ps, "fw=%s names %s twice (expected each flag at most once)",
				    v, fw_names[k]);
		if (neg)
			t->fw_clear |= bit;
		else
			t->fw_set |= bit;
	}
	/* "a,,b" and a trailing ',' leave nothing out of strtok_r: refuse them */
	if (strstr(v, ",,") || v[0] == ',' || v[strlen(v) - 1] == ',')
		goto bad;
	return 0;
bad:
	return fail(ps, "bad firmware flags '%s' (expected fw=FLAG or fw=!FLAG, FLAG untrusted, "
		    "removable, external (or external_facing) or pci, several joined by ',')", v);
}

/* One bdf= field of up to digits hex digits, at most max: N, *, or LO-HI */
static bool bdf_field(const char *s, size_t n, size_t digits, unsigned int max,
		      unsigned int *lo, unsigned int *hi)
{
	const char *dash = memchr(s, '-', n);

	if (n == 1 && *s == '*') {
		*lo = 0;
		*hi = max;
		return true;
	}
	if (dash) {
		size_t a = dash - s, b = n - a - 1;

		return a && b && a <= digits && b <= digits && hexn(s, a, lo) &&
		       hexn(dash + 1, b, hi) && *lo <= *hi && *hi <= max;
	}
	return n && n <= digits && hexn(s, n, lo) && (*hi = *lo) <= max;
}

static int cond_bdf(struct parse_state *ps, const char *v, struct policy_table_rule *t)
{
	const char *c1 = strchr(v, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	const char *bus = v, *dot;
	unsigned int lo[4], hi[4];
	bool ok = c1;

	if (c2) {		/* a segment */
		ok = bdf_field(v, c1 - v, 4, 0xffff, &lo[0], &hi[0]);
		bus = c1 + 1;
		c1 = c2;
	} else {
		lo[0] = hi[0] = 0;
	}
	dot = c1 ? strchr(c1 + 1, '.') : NULL;
	ok = ok && dot && !strchr(c1 + 1, ':') &&
	     bdf_field(bus, c1 - bus, 2, 0xff, &lo[1], &hi[1]) &&
	     bdf_field(c1 + 1, dot - c1 - 1, 2, 0x1f, &lo[2], &hi[2]) &&
	     bdf_field(dot + 1, strlen(dot + 1), 1, 7, &lo[3], &hi[3]);
	if (!ok)
		return fail(ps, "bad bdf '%s' (expected bdf=[SSSS:]BB:DD.F in hex, each field a "
			    "number, * or a range LO-HI, e.g. bdf=0000:03:00.0 or bdf=03-05:*.*)",
			    v);
	t->seg_lo = lo[0];
	t->seg_hi = hi[0];
	t->bus_lo = lo[1];
	t->bus_hi = hi[1];
	t->dev_lo = lo[2];
	t->dev_hi = hi[2];
	t->fn_lo = lo[3];
	t->fn_hi = hi[3];
	return 0;
}

static int cond_name(struct parse_state *ps, const char *v, char *name, const char *what,
		     const char *eg)
{
	if (!*v)
		return fail(ps, "empty %s name (expected %s)", what, eg);
	if (strlen(v) >= POLICY_TABLE_NAME_LEN)
		return fail(ps, "%s name '%s' is too long (expected at most %d characters)",
			    what, v, POLICY_TABLE_NAME_LEN - 1);
	strcpy(name, v);
	return 0;
}

static int cond_dev(struct parse_state *ps, const char *v, struct policy_table_rule *t)
{
	if (cond_name(ps, v, t->name, "device", "dev=NAME, e.g. dev=0000:00:03.0"))
		return -1;
	t->conds |= strpbrk(v, "*?") ? POLICY_COND_DEV_GLOB : POLICY_COND_DEV;
	return 0;
}

static int cond_iommu(struct parse_state *ps, const char *v, struct policy_table_rule *t)
{
	if (cond_name(ps, v, t->iommu, "IOMMU", "iommu=NAME, e.g. iommu=dmar0"))
		return -1;
	if (strpbrk(v, "*?"))
		return fail(ps, "IOMMU name '%s' is a glob (expected the name of one IOMMU, "
			    "e.g. iommu=dmar0)", v);
	return 0;
}

static int cond_resv(struct parse_state *ps, const char *v, struct policy_table_rule *t)
{
	if (!strcmp(v, "direct"))
		t->conds |= POLICY_COND_RESV_DIRECT;
	else if (!strcmp(v, "none"))
		t->conds |= POLICY_COND_RESV_NONE;
	else
		return fail(ps, "bad resv= '%s' (expected resv=direct or resv=none)", v);
	return 0;
}

static int cond_owner(struct parse_state *ps, const char *v, struct policy_table_rule *t)
{
	if (!strcmp(v, "group"))
		t->owner = IOMMU_POLICY_OWNER_F_GROUP;
	else if (!strcmp(v, "device"))
		t->owner = IOMMU_POLICY_OWNER_F_DEVICE;
	else
		return fail(ps, "bad owner= '%s' (expected owner=group, a VFIO group claim, or "
			    "owner=device, an iommufd device claim)", v);
	return 0;
}

static const struct {
	const char *key;
	__u32 cond;		/* 0: set by the parser (dev=, resv=) */
	int (*parse)(struct parse_state *ps, const char *v, struct policy_table_rule *t);
} cond_keys[] = {
	{ "dev", 0, cond_dev },
	{ "pci", POLICY_COND_PCI, cond_pci },
	{ "class", POLICY_COND_CLASS, cond_class },
	{ "bdf", POLICY_COND_BDF, cond_bdf },
	{ "fw", POLICY_COND_FW, cond_fw },
	{ "resv", 0, cond_resv },
	{ "iommu", POLICY_COND_IOMMU, cond_iommu },
	{ "owner", POLICY_COND_OWNER, cond_owner },
};
#define NR_KEYS (sizeof(cond_keys) / sizeof(cond_keys[0]))

/* One key=value or "*" into t; seen: the keys so far, bit NR_KEYS for '*' */
static int parse_cond(struct parse_state *ps, char *tok, struct policy_table_rule *t,
		      unsigned int *seen)
{
	char *eq = strchr(tok, '=');
	size_t k;

	if (!strcmp(tok, "*")) {
		k = NR_KEYS;
	} else {
		for (k = 0; k < NR_KEYS; k++)
			if ((size_t)(eq - tok) == strlen(cond_keys[k].key) &&
			    !strncmp(tok, cond_keys[k].key, eq - tok))
				break;
		if (k == NR_KEYS)
			return fail(ps, "unknown match '%s' %s", tok, match_expected);
	}
	if ((k == NR_KEYS && *seen) || (*seen & 1U << NR_KEYS))
		return fail(ps, "'*' with other conditions (expected * alone, for every device, "
			    "or conditions without it)");
	if (*seen & 1U << k)
		return fail(ps, "%s= given twice (expected each condition at most once per line)",
			    cond_keys[k].key);
	*seen |= 1U << k;
	if (k == NR_KEYS)
		return 0;
	t->conds |= cond_keys[k].cond;
	return cond_keys[k].parse(ps, eq + 1, t);
}

unsigned int policy_rule_score(const struct policy_table_rule *t)
{
	unsigned int score = 0;
	__u32 c = t->conds;

	if (c & POLICY_COND_DEV)
		score += POLICY_WEIGHT_DEVICE;
	if (c & POLICY_COND_BDF)
		score += t->seg_lo == t->seg_hi && t->bus_lo == t->bus_hi &&
			 t->dev_lo == t->dev_hi && t->fn_lo == t->fn_hi ?
			 POLICY_WEIGHT_DEVICE : POLICY_WEIGHT_OTHER;
	if (c & POLICY_COND_PCI)
		score += t->pci_mask == 0xffffffff ? POLICY_WEIGHT_MODEL :
			 t->pci_mask ? POLICY_WEIGHT_HALF : POLICY_WEIGHT_OTHER;
	/* Every other condition: 1 */
	c &= ~(POLICY_COND_DEV | POLICY_COND_BDF | POLICY_COND_PCI);
	return score + __builtin_popcount(c) * POLICY_WEIGHT_OTHER;
}

/* The conditions alone: what makes two lines the same match */
static bool same_conds(const struct policy_table_rule *a, const struct policy_table_rule *b)
{
	struct policy_table_rule x = *a, y = *b;

	x.verdict = y.verdict = 0;
	x.line = y.line = 0;
	return !memcmp(&x, &y, sizeof(x));
}

static int add_rule(struct parse_state *ps, struct policy_rules *rs, const struct policy_rule *m,
		    const char *match_text)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->rules[i].hook == m->hook && same_conds(&rs->rules[i].t, &m->t))
			return fail(ps, "%s %s is already set on line %u (expected one verdict per "
				    "match and hook)", match_text, policy_rule_hook_name(m->hook),
				    rs->rules[i].t.line);
	if (rs->n >= POLICY_TABLE_MAX_RULES)
		return fail(ps, "too many rules (expected at most %d rule lines)",
			    POLICY_TABLE_MAX_RULES);
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;
		struct policy_rule *p = realloc(rs->rules, cap * sizeof(*p));

		if (!p)
			return fail(ps, "%s", strerror(ENOMEM));
		rs->rules = p;
		rs->cap = cap;
	}
	rs->rules[rs->n++] = *m;
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

static bool is_cond(const char *tok)
{
	return strchr(tok, '=') || !strcmp(tok, "*");
}

static int parse_line(struct parse_state *ps, struct policy_rules *rs, char *line)
{
	char hooks[96], names[96], match[512] = "";
	char *p = line, *tok, *last = NULL, *verdict_tok, *extra;
	struct policy_rule m = {};
	unsigned int seen = 0;
	int verdict;

	line[strcspn(line, "#")] = '\0';
	tok = next_token(&p);
	if (!tok)
		return 0;
	if (!is_cond(tok))
		return fail(ps, "unknown match '%s' %s", tok, match_expected);
	for (; tok && is_cond(tok); tok = next_token(&p)) {
		if (parse_cond(ps, tok, &m.t, &seen))
			return -1;
		snprintf(match + strlen(match), sizeof(match) - strlen(match), "%s%s",
			 match[0] ? " " : "", tok);
		last = tok;
	}
	policy_rule_hook_list(hooks, sizeof(hooks));
	if (!tok)
		return fail(ps, "missing hook after '%s' (expected %s)", last, hooks);
	m.hook = policy_hook_by_name(tok);
	if (m.hook < 0)
		return fail(ps, "unknown hook '%s' (expected %s)", tok, hooks);
	policy_verdict_list(m.hook, names, sizeof(names));
	verdict_tok = next_token(&p);
	if (!verdict_tok)
		return fail(ps, "missing verdict after '%s' (expected %s)", tok, names);
	verdict = policy_verdict_by_name(m.hook, verdict_tok);
	if (verdict < 0)
		return fail(ps, "'%s' is not a %s verdict (expected %s)", verdict_tok,
			    policy_rule_hook_name(m.hook), names);
	extra = next_token(&p);
	if (extra)
		return fail(ps, "unexpected '%s' after the verdict (expected one rule per "
			    "line: MATCH HOOK VERDICT)", extra);
	/* Facts a hook does not have: a rule on them could never match */
	if ((m.t.conds & POLICY_COND_OWNER) && m.hook != IOMMU_POLICY_HOOK_DMA_OWNER)
		return fail(ps, "owner= is a fact of dma_owner only (expected it with dma_owner, "
			    "not %s)", policy_rule_hook_name(m.hook));
	if ((m.t.conds & (POLICY_COND_IOMMU | POLICY_COND_RESV_DIRECT | POLICY_COND_RESV_NONE)) &&
	    m.hook == IOMMU_POLICY_HOOK_DEV_TRUST)
		return fail(ps, "%s= is not known yet when trust is decided (expected it with "
			    "dma_mode, resv_direct, pasid or dma_owner)",
			    m.t.conds & POLICY_COND_IOMMU ? "iommu" : "resv");
	m.t.verdict = verdict;
	m.t.line = ps->line;
	m.score = policy_rule_score(&m.t);
	rs->lines++;
	return add_rule(ps, rs, &m, match);
}

/* Lookup order: the most specific first, equals in file order */
static int cmp_rule(const void *a, const void *b)
{
	const struct policy_rule *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->t.line < y->t.line ? -1 : x->t.line > y->t.line;
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
	else if (rs->n)
		qsort(rs->rules, rs->n, sizeof(*rs->rules), cmp_rule);
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


/* One bdf= field: "03", "*", "03-05" */
static size_t bdf_str(char *buf, size_t len, unsigned int lo, unsigned int hi,
		      unsigned int max, int digits)
{
	if (lo == 0 && hi == max)
		return snprintf(buf, len, "*");
	if (lo == hi)
		return snprintf(buf, len, "%0*x", digits, lo);
	return snprintf(buf, len, "%0*x-%0*x", digits, lo, digits, hi);
}

void policy_match_str(const struct policy_table_rule *t, char *buf, size_t len)
{
	__u32 c = t->conds;
	size_t off = 0;

#define ADD(...) do { if (off < len) off += snprintf(buf + off, len - off, __VA_ARGS__); } while (0)
	buf[0] = '\0';
	if (c & (POLICY_COND_DEV | POLICY_COND_DEV_GLOB))
		ADD(" dev=%s", t->name);
	if (c & POLICY_COND_BDF) {
		ADD(" bdf=");
		if (off < len)
			off += bdf_str(buf + off, len - off, t->seg_lo, t->seg_hi, 0xffff, 4);
		ADD(":");
		if (off < len)
			off += bdf_str(buf + off, len - off, t->bus_lo, t->bus_hi, 0xff, 2);
		ADD(":");
		if (off < len)
			off += bdf_str(buf + off, len - off, t->dev_lo, t->dev_hi, 0x1f, 2);
		ADD(".");
		if (off < len)
			off += bdf_str(buf + off, len - off, t->fn_lo, t->fn_hi, 7, 1);
	}
	if (c & POLICY_COND_PCI) {
		ADD(" pci=");
		if (t->pci_mask >> 16)
			ADD("%04x:", t->pci >> 16);
		else
			ADD("*:");
		if (t->pci_mask & 0xffff)
			ADD("%04x", t->pci & 0xffff);
		else
			ADD("*");
	}
	if (c & POLICY_COND_CLASS) {
		int digits = t->class_mask == 0xff0000 ? 2 : t->class_mask == 0xffff00 ? 4 : 6;

		ADD(" class=%0*x", digits, t->class >> (24 - 4 * digits));
	}
	if (c & POLICY_COND_FW) {
		bool first = true;

		ADD(" fw=");
		for (size_t k = 0; k < NR_FW; k++)
			if ((t->fw_set | t->fw_clear) & 1U << k) {
				ADD("%s%s%s", first ? "" : ",", t->fw_clear & 1U << k ? "!" : "",
				    fw_names[k]);
				first = false;
			}
	}
	if (c & POLICY_COND_RESV_DIRECT)
		ADD(" resv=direct");
	if (c & POLICY_COND_RESV_NONE)
		ADD(" resv=none");
	if (c & POLICY_COND_IOMMU)
		ADD(" iommu=%s", t->iommu);
	if (c & POLICY_COND_OWNER)
		ADD(" owner=%s", t->owner == IOMMU_POLICY_OWNER_F_GROUP ? "group" : "device");
#undef ADD
	if (!buf[0])
		snprintf(buf, len, "*");
	else
		memmove(buf, buf + 1, strlen(buf));
}

void policy_rules_print(const struct policy_rules *rs, FILE *f)
{
	char m[256];

	for (size_t i = 0; i < rs->n; i++) {
		const struct policy_rule *r = &rs->rules[i];

		policy_match_str(&r->t, m, sizeof(m));
		fprintf(f, "%s %s %s\n", m, policy_rule_hook_name(r->hook),
			policy_verdict_name(r->hook, r->t.verdict));
	}
}

void policy_rules_table(const struct policy_rules *rs, struct policy_table_rule *t,
			struct policy_table_hook hooks[POLICY_TABLE_NR_HOOKS])
{
	__u32 n = 0;

	/* rs is in lookup order: keep it within each hook */
	for (int h = 0; h < POLICY_TABLE_NR_HOOKS; h++) {
		hooks[h].first = n;
		for (size_t i = 0; i < rs->n; i++)
			if (rs->rules[i].hook == h)
				t[n++] = rs->rules[i].t;
		hooks[h].count = n - hooks[h].first;
	}
}

bool policy_glob_match(const char *pat, const char *name)
{
	char p[POLICY_TABLE_NAME_LEN] = {}, s[POLICY_TABLE_NAME_LEN] = {};
	struct policy_glob g = { .star = -1 };
	int ret = 0;

	if (strlen(pat) >= sizeof(p) || strlen(name) >= sizeof(s))
		return false;
	strcpy(p, pat);
	strcpy(s, name);
	for (int i = 0; i < POLICY_GLOB_STEPS && !ret; i++)
		ret = policy_glob_step(&g, p, s);
	return ret == 1;
}

const struct policy_table_rule *policy_table_decide(const struct policy_table_rule *t,
						    const struct policy_table_hook *hooks,
						    int hook,
						    const struct policy_table_facts *f)
{
	for (__u32 i = hooks[hook].first; i < hooks[hook].first + hooks[hook].count; i++) {
		const struct policy_table_rule *r = &t[i];

		if (policy_rule_holds(r, f) &&
		    (!(r->conds & POLICY_COND_DEV_GLOB) || policy_glob_match(r->name, f->name)))
			return r;
	}
	return NULL;
}

bool policy_rules_same_table(const struct policy_rules *a, const struct policy_rules *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		struct policy_table_rule x = a->rules[i].t, y = b->rules[i].t;

		x.line = y.line = 0;
		if (a->rules[i].hook != b->rules[i].hook || memcmp(&x, &y, sizeof(x)))
			return false;
	}
	return true;
}
