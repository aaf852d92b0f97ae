// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the BPF IOMMU attach policy (struct iommu_policy_ops), run as
 * root in a VM booted with the series and the mock IOMMU test driver. Each
 * test asserts kernel state: group types, errnos, the sysfs state directory,
 * the per-device verdict records and the iommu:policy_decision tracepoint.
 *
 * The same binary runs with and without iommu_policy.allow_loosen=1 and
 * checks the behaviour that boot asked for. The lockdown test comes last:
 * lockdown cannot be lifted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/iommu_policy.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sched.h>
#include <grp.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "test_policy.h"
#include "test_bad_write.skel.h"
#include "test_kfunc_other.skel.h"
#include "test_nocb.skel.h"
#include "test_nolink.skel.h"
#include "test_policy.skel.h"
#include "test_sleepable.skel.h"

#ifndef ASSERT_LE
#define ASSERT_LE(a, b) __ASSERT_OP(a, <=, b)
#endif

#define POLICY_DIR	"/sys/kernel/iommu_policy/"
#define VERDICTS	"/sys/kernel/debug/iommu_policy/verdicts"
#define MOCK_CTL	"/sys/kernel/debug/iommu_policy_mock/ctl"
#define DETACH_DELAY	"/sys/kernel/debug/iommu_policy/test_detach_delay_ms"
#define DECISION_TIMEOUT "/sys/module/iommu_policy/parameters/decision_timeout_ms"
#define LOCKDOWN	"/sys/kernel/security/lockdown"
/* what the lockdown LSM logs when it refuses our reason */
#define LOCKDOWN_NOTICE	"loosening DMA isolation through a BPF IOMMU policy is restricted"
#define PLATFORM	"/sys/bus/platform/devices/"
#define PCI_DEVS	"/sys/bus/pci/devices/"
#define TRACEFS		"/sys/kernel/tracing/"

/* libbpf messages of the current test, to assert on verifier output */
static char libbpf_log[64 * 1024];
static size_t libbpf_log_len;

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	int n;

	if (level == LIBBPF_DEBUG)
		return 0;
	n = vsnprintf(libbpf_log + libbpf_log_len,
		      sizeof(libbpf_log) - libbpf_log_len, fmt, args);
	if (n > 0 && libbpf_log_len + n < sizeof(libbpf_log))
		libbpf_log_len += n;
	return 0;
}

/* The whole file (as much as fits): a trace takes more than one read() */
static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = 0, r;

	if (fd < 0)
		return -errno;
	while ((size_t)n < size - 1 && (r = read(fd, buf + n, size - 1 - n)) > 0)
		n += r;
	close(fd);
	if (r < 0)
		return -errno;
	buf[n] = '\0';
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return 0;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* A /sys/kernel/iommu_policy/ file, as a string (static buffer) */
static const char *pol(const char *file)
{
	static char buf[512];
	char path[128];

	snprintf(path, sizeof(path), POLICY_DIR "%s", file);
	if (read_file(path, buf, sizeof(buf)))
		__FAIL("cannot read %s", path);
	return buf;
}

static long long pol_ll(const char *file)
{
	return atoll(pol(file));
}

/* Kept open across lockdown, which closes debugfs files to new opens */
static int mock_fd = -1;

/* One command to the mock IOMMU; returns 0 or -errno */
static int mock(const char *fmt, ...)
{
	char cmd[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (mock_fd < 0)
		return write_file(MOCK_CTL, cmd);
	return write(mock_fd, cmd, strlen(cmd)) < 0 ? -errno : 0;
}

/* Lines of the kernel log so far that contain all of @a and @b */
static int kmsg_count(const char *a, const char *b)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	char rec[2048];
	int n = 0;
	ssize_t len;

	if (fd < 0)
		__FAIL("cannot open /dev/kmsg: %s", strerror(errno));
	while ((len = read(fd, rec, sizeof(rec) - 1)) != 0) {
		if (len < 0) {
			if (errno == EPIPE)	/* overwritten: go on */
				continue;
			break;			/* EAGAIN: the end */
		}
		rec[len] = '\0';
		if (strstr(rec, a) && (!b || strstr(rec, b)))
			n++;
	}
	close(fd);
	return n;
}

/* Is @opt a word of the kernel command line? */
static bool cmdline_has(const char *opt)
{
	char buf[4096], *p;
	size_t n = strlen(opt);

	if (read_file("/proc/cmdline", buf, sizeof(buf)))
		return false;
	for (p = buf; (p = strstr(p, opt)); p += n)
		if ((p == buf || p[-1] == ' ') && (!p[n] || p[n] == ' '))
			return true;
	return false;
}

#define MOCK_OK(fmt, ...) ASSERT_EQ(mock(fmt, ##__VA_ARGS__), 0)

/* The default domain type of the group of a device below @bus */
static const char *group_type_on(const char *bus, const char *dev)
{
	static char buf[64];
	char path[256];

	snprintf(path, sizeof(path), "%s%s/iommu_group/type", bus, dev);
	if (read_file(path, buf, sizeof(buf)))
		__FAIL("%s has no IOMMU group", dev);
	return buf;
}

/* ... of a mock device */
static const char *group_type(const char *dev)
{
	return group_type_on(PLATFORM, dev);
}

static int set_group_type(const char *dev, const char *type)
{
	char path[256];

	snprintf(path, sizeof(path), PLATFORM "%s/iommu_group/type", dev);
	return write_file(path, type);
}

struct record {
	char source[16], reason[16];
	int proposed, verdict, applied;
	unsigned long long seq;
};

/* The last decision of @hook for @dev from debugfs; false if none */
static bool verdict_of(const char *dev, const char *hook, struct record *r)
{
	char line[256], d[64], h[32];
	bool found = false;
	FILE *f = fopen(VERDICTS, "r");

	if (!f)
		__FAIL("cannot open " VERDICTS ": %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %31s %15s proposed=%d verdict=%d applied=%d reason=%15s seq=%llu",
			   d, h, r->source, &r->proposed, &r->verdict,
			   &r->applied, r->reason, &r->seq) == 8 &&
		    !strcmp(d, dev) && !strcmp(h, hook)) {
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

#define ASSERT_RECORD(dev, hook, _applied, _reason)			\
	do {								\
		struct record __r;					\
		ASSERT_TRUE(verdict_of(dev, hook, &__r));		\
		ASSERT_EQ(__r.applied, _applied);			\
		ASSERT_STREQ(__r.reason, _reason);			\
	} while (0)

/*
 * Whether the boot asked for the opt-in: what the profile put on the
 * command line, not what the kernel made of it, so that an opt-in that
 * stopped taking effect fails the tests that expect it instead of turning
 * them into a second run without it (optin_is_what_the_boot_asked
 * checks the kernel took it).  The last occurrence wins, as for any
 * module parameter.
 */
static bool cmdline_allow_loosen(void)
{
	static const char key[] = "iommu_policy.allow_loosen=";
	char buf[4096], *tok, *save;
	bool on = false;

	if (read_file("/proc/cmdline", buf, sizeof(buf)))
		return false;
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (!strncmp(tok, key, sizeof(key) - 1))
			on = strchr("1yY", tok[sizeof(key) - 1]) && tok[sizeof(key) - 1];
	return on;
}

static bool allow_loosen(void)
{
	static int asked = -1;

	if (asked < 0)
		asked = cmdline_allow_loosen();
	return asked;
}

static bool wait_for(volatile int *flag, int timeout_ms)
{
	for (int i = 0; i <= timeout_ms / 10 && !*flag; i++)
		usleep(10000);
	return *flag;
}

static bool state_is(const char *state, int timeout_ms)
{
	for (int i = 0; i <= timeout_ms / 10; i++) {
		if (!strcmp(pol("state"), state))
			return true;
		usleep(10000);
	}
	return false;
}

/* Set a member of the policy's initial value before load, through BTF */
static void set_ops_member(struct bpf_object *obj, struct bpf_map *map,
			   const char *member, const void *val, size_t len)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_member *m;
	const struct btf_type *t;
	size_t size;
	char *data;
	int id;

	id = btf__find_by_name_kind(btf, "iommu_policy_ops", BTF_KIND_STRUCT);
	ASSERT_GT(id, 0);
	t = btf__type_by_id(btf, id);
	data = bpf_map__initial_value(map, &size);
	ASSERT_TRUE(data);
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		if (strcmp(btf__name_by_offset(btf, m->name_off), member))
			continue;
		memcpy(data + m->offset / 8, val, len);
		return;
	}
	__FAIL("iommu_policy_ops has no member %s", member);
}

/* Rename the policy before load: its name is in the map's initial value */
static void set_ops_name(struct test_policy *skel, const char *name)
{
	char buf[IOMMU_POLICY_NAME_LEN] = {};

	strncpy(buf, name, sizeof(buf) - 1);
	set_ops_member(skel->obj, skel->maps.test_ops, "name", buf, sizeof(buf));
}

static struct test_policy *load_policy(const char *name)
{
	struct test_policy *skel = test_policy__open();

	ASSERT_TRUE(skel);
	if (name)
		set_ops_name(skel, name);
	ASSERT_EQ(test_policy__load(skel), 0);
	return skel;
}

/* The kernel refuses to attach @map, with @err */
static void expect_attach_refused(struct bpf_map *map, int err)
{
	errno = 0;
	ASSERT_TRUE(!bpf_map__attach_struct_ops(map));
	ASSERT_EQ(errno, err);
}

static struct bpf_link *attach(struct test_policy *skel)
{
	struct bpf_link *link = bpf_map__attach_struct_ops(skel->maps.test_ops);

	if (!link)
		__FAIL("attach: %s", strerror(errno));
	return link;
}

/* Load and attach the test policy with these default verdicts */
static struct test_policy *policy(struct bpf_link **link, int trust, int dma,
				  int resv, int pasid, int owner)
{
	struct test_policy *skel = load_policy(NULL);

	skel->bss->def.trust = trust;
	skel->bss->def.dma = dma;
	skel->bss->def.resv = resv;
	skel->bss->def.pasid = pasid;
	skel->bss->def.owner = owner;
	*link = attach(skel);
	ASSERT_STREQ(pol("state"), "enabled");
	return skel;
}

/* Verdicts for one device (by name), winning over the defaults */
static void set_dev_all(struct test_policy *skel, const char *dev, int trust,
			int dma, int resv)
{
	char key[32] = {};
	struct verdicts v = { .trust = trust, .dma = dma, .resv = resv };

	strncpy(key, dev, sizeof(key) - 1);
	ASSERT_EQ(bpf_map__update_elem(skel->maps.per_dev, key, sizeof(key),
				       &v, sizeof(v), BPF_ANY), 0);
}

static void detach(struct bpf_link *link)
{
	ASSERT_EQ(bpf_link__destroy(link), 0);
	ASSERT_TRUE(state_is("disabled", 5000));
}

/* The kernel's bound on one decision, as booted; every test starts with it */
static char decision_timeout_boot[32];

__attribute__((constructor)) static void save_decision_timeout(void)
{
	read_file(DECISION_TIMEOUT, decision_timeout_boot,
		  sizeof(decision_timeout_boot));
}

/* Bound each decision to @ms (0: no bound); test_cleanup() restores it */
static void set_decision_timeout(unsigned int ms)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", ms);
	if (write_file(DECISION_TIMEOUT, buf))
		__FAIL("cannot write %s: %s", DECISION_TIMEOUT, strerror(errno));
}

/*
 * Delay the fail-safe's detach by @ms (0: none), to probe while it is
 * pending. The knob comes with the mock IOMMU (CONFIG_IOMMU_POLICY_MOCK,
 * kernel/config/50-policy.config; kernel/patches-6.12/0020), which every
 * test that uses it needs anyway: without it the kernel or its config is
 * broken, never a reason to test less.
 */
static void set_detach_delay(unsigned int ms)
{
	char buf[16];
	int ret;

	snprintf(buf, sizeof(buf), "%u", ms);
	ret = write_file(DETACH_DELAY, buf);
	if (ret)
		__FAIL("cannot write %s: %s (CONFIG_IOMMU_POLICY_MOCK creates it)",
		       DETACH_DELAY, strerror(-ret));
}

/* Delete what a test left behind: its devices, its policy, its bound */
void test_cleanup(void)
{
	struct dirent *de;
	char buf[64];
	DIR *d;

	if (decision_timeout_boot[0])
		write_file(DECISION_TIMEOUT, decision_timeout_boot);
	if (!access(DETACH_DELAY, W_OK))
		write_file(DETACH_DELAY, "0");

	d = opendir(PLATFORM);
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "pt-", 3))
			continue;
		mock("del %s", de->d_name);
	}
	if (d)
		closedir(d);
	/* The child's links are released asynchronously after it exits */
	for (int i = 0; i < 500; i++) {
		if (!read_file(POLICY_DIR "state", buf, sizeof(buf)) &&
		    !strcmp(buf, "disabled"))
			break;
		usleep(10000);
	}
}

/* --- lifecycle ---------------------------------------------------------- */

/* The opt-in the command line asked for is the one the kernel applies */
TEST(optin_is_what_the_boot_asked)
{
	char buf[8];

	ASSERT_EQ(read_file("/sys/module/iommu_policy/parameters/allow_loosen",
			    buf, sizeof(buf)), 0);
	ASSERT_EQ(buf[0] == 'Y', allow_loosen());
	/* "applied", or "lockdown" in a boot locked down from the command line */
	if (allow_loosen())
		ASSERT_STRNE(pol("allow_loosen"), "no_optin");
	else
		ASSERT_STREQ(pol("allow_loosen"), "no_optin");
}

TEST(attach_detach_state)
{
	long long seq = pol_ll("enable_seq");
	struct test_policy *skel;
	struct bpf_link *link;

	ASSERT_STREQ(pol("state"), "disabled");
	skel = policy(&link, 0, 0, 0, 0, 0);
	ASSERT_STREQ(pol("name"), "test");
	ASSERT_EQ(pol_ll("enable_seq"), seq + 1);
	detach(link);
	ASSERT_STREQ(pol("name"), "");
	ASSERT_STREQ(pol("last_exit_kind"), "unreg");
	ASSERT_STREQ(pol("last_exit_reason"), "detached by user space");
	ASSERT_EQ(skel->bss->exit_kind, IOMMU_POLICY_EXIT_UNREG);
	test_policy__destroy(skel);
}

TEST(second_policy_is_busy)
{
	struct test_policy *a, *b;
	struct bpf_link *link;

	a = policy(&link, 0, 0, 0, 0, 0);
	b = load_policy("second");
	expect_attach_refused(b->maps.test_ops, EBUSY);
	ASSERT_STREQ(pol("name"), "test");
	detach(link);
	test_policy__destroy(b);
	test_policy__destroy(a);
}

TEST(non_link_map_is_rejected)
{
	struct test_nolink *skel = test_nolink__open_and_load();

	ASSERT_TRUE(skel);
	expect_attach_refused(skel->maps.nolink_ops, EOPNOTSUPP);
	ASSERT_STREQ(pol("state"), "disabled");
	test_nolink__destroy(skel);
}

static int drop_cap_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[CAP_SYS_ADMIN / 32].effective &= ~(1U << (CAP_SYS_ADMIN % 32));
	data[CAP_SYS_ADMIN / 32].permitted &= ~(1U << (CAP_SYS_ADMIN % 32));
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

TEST(attach_needs_cap_sys_admin)
{
	struct test_policy *skel = load_policy(NULL);

	/* CAP_BPF and CAP_PERFMON stay: they alone must not be enough */
	ASSERT_EQ(drop_cap_sys_admin(), 0);
	expect_attach_refused(skel->maps.test_ops, EPERM);
	ASSERT_STREQ(pol("state"), "disabled");
	test_policy__destroy(skel);
}

/*
 * What an unprivileged user (nobody, no capabilities) can do to a policy,
 * in a child: 0 when every door is shut, else the number of the one that
 * opened.  @userns: root, but in a user namespace of its own.
 */
static int try_as_unprivileged(struct test_policy *skel, bool userns)
{
	static const char *const root_only[] = {
		MOCK_CTL, VERDICTS, "/sys/kernel/debug/iommu_policy/devices",
	};
	struct bpf_link *link;
	int fd;

	if (userns) {
		if (unshare(CLONE_NEWUSER))
			return 100;
	} else if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		   setresuid(65534, 65534, 65534)) {
		return 101;
	}
	link = bpf_map__attach_struct_ops(skel->maps.test_ops);
	if (link || (errno != EPERM && errno != EACCES))
		return 1;
	if (!userns) {
		for (int i = 0; i < 3; i++) {
			fd = open(root_only[i], O_RDWR);
			if (fd >= 0 || errno != EACCES)
				return 2 + i;
			fd = open(root_only[i], O_RDONLY);
			if (fd >= 0 || errno != EACCES)
				return 5 + i;
		}
	}
	/* sysfs is read-only to everyone: its files have no store */
	fd = open(POLICY_DIR "state", O_WRONLY);
	if (fd >= 0 || (errno != EACCES && errno != EPERM))
		return 8;
	fd = open(POLICY_DIR "name", O_RDONLY);
	if (fd < 0)
		return 9;
	close(fd);
	return 0;
}

/* try_as_unprivileged() in a child: its exit status */
static int unprivileged_child(struct test_policy *skel, bool userns)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(try_as_unprivileged(skel, userns));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST(unprivileged_users_cannot_touch_the_policy)
{
	struct test_policy *skel = load_policy(NULL);

	ASSERT_EQ(unprivileged_child(skel, false), 0);
	ASSERT_STREQ(pol("state"), "disabled");
	test_policy__destroy(skel);
}

TEST(root_in_a_user_namespace_cannot_attach)
{
	struct test_policy *skel = load_policy(NULL);
	int ret = unprivileged_child(skel, true);

	test_policy__destroy(skel);
	if (ret == 100)
		SKIP("no user namespaces in this kernel (CONFIG_USER_NS)");
	ASSERT_EQ(ret, 0);
	ASSERT_STREQ(pol("state"), "disabled");
}

TEST(verifier_rejects_writes_to_device)
{
	struct test_bad_write *skel;

	libbpf_log_len = 0;
	skel = test_bad_write__open_and_load();
	ASSERT_TRUE(!skel);
	ASSERT_STRSTR(libbpf_log, "only read is supported");
}

TEST(verifier_rejects_sleepable_decisions)
{
	struct test_sleepable *skel;

	libbpf_log_len = 0;
	skel = test_sleepable__open_and_load();
	ASSERT_TRUE(!skel);
	ASSERT_STRSTR(libbpf_log, "attach to unsupported member dma_mode");
}

TEST(kfuncs_are_private_to_the_policy)
{
	struct test_kfunc_other *skel;

	libbpf_log_len = 0;
	skel = test_kfunc_other__open_and_load();
	ASSERT_TRUE(!skel);
	ASSERT_STRSTR(libbpf_log,
		      "calling kernel function bpf_iommu_dev_is_pci is not allowed");
}

/* --- dev_trust ---------------------------------------------------------- */

TEST(dev_trust_default_keeps_firmware_trust)
{
	struct test_policy *skel;
	struct bpf_link *link;

	skel = policy(&link, IOMMU_POLICY_TRUST_DEFAULT, 0, 0, 0, 0);
	MOCK_OK("add pt-t0");
	MOCK_OK("add pt-t1 untrusted");
	ASSERT_STREQ(group_type("pt-t0"), "DMA-FQ");
	ASSERT_STREQ(group_type("pt-t1"), "DMA");
	ASSERT_RECORD("pt-t0", "dev_trust", IOMMU_POLICY_TRUST_TRUSTED, "default");
	ASSERT_RECORD("pt-t1", "dev_trust", IOMMU_POLICY_TRUST_UNTRUSTED, "default");
	/* what firmware said, and the kfuncs, as the program saw them */
	ASSERT_EQ(skel->bss->seen_fw_flags, IOMMU_POLICY_FW_UNTRUSTED);
	ASSERT_EQ(skel->bss->seen_is_pci, 0);
	ASSERT_EQ(skel->bss->seen_pci_ids, -ENODEV);
	detach(link);
	test_policy__destroy(skel);
}

TEST(dev_trust_untrusted_makes_group_strict)
{
	long long clamped = pol_ll("nr_clamped");
	struct test_policy *skel;
	struct bpf_link *link;

	skel = policy(&link, IOMMU_POLICY_TRUST_UNTRUSTED, 0, 0, 0, 0);
	MOCK_OK("add pt-t2 removable");
	ASSERT_EQ(skel->bss->seen_fw_flags, IOMMU_POLICY_FW_REMOVABLE);
	/* tightening needs no opt-in */
	ASSERT_STREQ(group_type("pt-t2"), "DMA");
	ASSERT_RECORD("pt-t2", "dev_trust", IOMMU_POLICY_TRUST_UNTRUSTED, "applied");
	ASSERT_EQ(pol_ll("nr_clamped"), clamped);
	detach(link);
	test_policy__destroy(skel);
}

TEST(dev_trust_trusting_untrusted_needs_optin)
{
	long long clamped = pol_ll("nr_clamped");
	struct test_policy *skel;
	struct bpf_link *link;

	skel = policy(&link, IOMMU_POLICY_TRUST_TRUSTED, 0, 0, 0, 0);
	MOCK_OK("add pt-t3 untrusted");
	if (allow_loosen()) {
		ASSERT_STREQ(group_type("pt-t3"), "DMA-FQ");
		ASSERT_RECORD("pt-t3", "dev_trust", IOMMU_POLICY_TRUST_TRUSTED, "applied");
		ASSERT_EQ(pol_ll("nr_clamped"), clamped);
	} else {
		ASSERT_STREQ(group_type("pt-t3"), "DMA");
		ASSERT_RECORD("pt-t3", "dev_trust", IOMMU_POLICY_TRUST_UNTRUSTED, "no_optin");
		ASSERT_EQ(pol_ll("nr_clamped"), clamped + 1);
	}
	detach(link);
	test_policy__destroy(skel);
}

/*
 * A device joining a group whose default domain was chosen without it: an
 * untrusted verdict must be in effect (the group re-evaluated to strict)
 * or recorded as not in effect, never "applied" while it is not.
 */
TEST(dev_trust_holds_for_the_whole_group)
{
	struct test_policy *skel;
	struct bpf_link *link;

	skel = policy(&link, 0, 0, 0, 0, 0);
	set_dev_all(skel, "pt-m1", IOMMU_POLICY_TRUST_UNTRUSTED, 0, 0);
	set_dev_all(skel, "pt-m3", IOMMU_POLICY_TRUST_UNTRUSTED, 0, 0);
	set_dev_all(skel, "pt-m5", IOMMU_POLICY_TRUST_UNTRUSTED, 0, 0);

	/* trusted first, untrusted joins: the group is made strict */
	MOCK_OK("add pt-m0 group=m");
	ASSERT_STREQ(group_type("pt-m0"), "DMA-FQ");
	MOCK_OK("add pt-m1 group=m");
	ASSERT_STREQ(group_type("pt-m1"), "DMA");
	ASSERT_RECORD("pt-m1", "dev_trust", IOMMU_POLICY_TRUST_UNTRUSTED, "applied");

	/* untrusted first, trusted joins: it stays strict */
	MOCK_OK("add pt-m3 group=n");
	ASSERT_STREQ(group_type("pt-m3"), "DMA");
	MOCK_OK("add pt-m2 group=n");
	ASSERT_STREQ(group_type("pt-m2"), "DMA");
	ASSERT_RECORD("pt-m2", "dev_trust", IOMMU_POLICY_TRUST_TRUSTED, "default");

	/* the group is owned: its domain cannot change, and the record says so */
	MOCK_OK("add pt-m4 group=o");
	MOCK_OK("claim pt-m4");
	MOCK_OK("add pt-m5 group=o");
	ASSERT_STREQ(group_type("pt-m5"), "DMA-FQ");
	ASSERT_RECORD("pt-m5", "dev_trust", IOMMU_POLICY_TRUST_UNTRUSTED, "group");
	MOCK_OK("release pt-m4");
	detach(link);
	test_policy__destroy(skel);
}

/* --- dma_mode ----------------------------------------------------------- */

TEST(dma_mode_each_verdict)
{
	/* identity where the kernel chose lazy is loosening, even if trusted */
	bool opt = allow_loosen();
	const struct {
		int verdict, applied;
		const char *type;
		const char *reason;
	} cases[] = {
		{ IOMMU_POLICY_DMA_DEFAULT, IOMMU_POLICY_DMA_LAZY, "DMA-FQ", "default" },
		{ IOMMU_POLICY_DMA_IDENTITY,
		  opt ? IOMMU_POLICY_DMA_IDENTITY : IOMMU_POLICY_DMA_LAZY,
		  opt ? "identity" : "DMA-FQ", opt ? "applied" : "no_optin" },
		{ IOMMU_POLICY_DMA_LAZY, IOMMU_POLICY_DMA_LAZY, "DMA-FQ", "applied" },
		{ IOMMU_POLICY_DMA_STRICT, IOMMU_POLICY_DMA_STRICT, "DMA", "applied" },
	};
	struct test_policy *skel;
	struct bpf_link *link;
	char dev[32];

	skel = policy(&link, 0, 0, 0, 0, 0);
	for (int i = 0; i < 4; i++) {
		long long n = pol_ll("nr_dma_mode");

		skel->bss->def.dma = cases[i].verdict;
		snprintf(dev, sizeof(dev), "pt-d%d", i);
		MOCK_OK("add %s", dev);
		TH_LOG("dma_mode %d -> %s", cases[i].verdict, group_type(dev));
		ASSERT_STREQ(group_type(dev), cases[i].type);
		ASSERT_RECORD(dev, "dma_mode", cases[i].applied, cases[i].reason);
		ASSERT_EQ(pol_ll("nr_dma_mode"), n + 1);
		/* the kernel proposed its default: lazy, on a new group */
		ASSERT_EQ(skel->bss->seen_dma_proposed, IOMMU_POLICY_DMA_LAZY);
		ASSERT_EQ(skel->bss->seen_dma_flags, 0);
	}
	ASSERT_STREQ(skel->bss->seen_iommu_name, "iommu-policy-mock");
	ASSERT_EQ(skel->bss->seen_iommu_name_ret, (int)strlen("iommu-policy-mock"));
	detach(link);
	test_policy__destroy(skel);
}

TEST(dma_mode_loosening_untrusted_needs_optin)
{
	struct test_policy *skel;
	struct bpf_link *link;

	skel = policy(&link, 0, IOMMU_POLICY_DMA_IDENTITY, 0, 0, 0);
	MOCK_OK("add pt-u0 untrusted");
	skel->bss->def.dma = IOMMU_POLICY_DMA_LAZY;
	MOCK_OK("add pt-u1 untrusted");
	ASSERT_EQ(skel->bss->seen_dma_proposed, IOMMU_POLICY_DMA_STRICT);
	/* the kernel forces strict on untrusted devices, not the driver */
	ASSERT_EQ(skel->bss->seen_dma_flags, IOMMU_POLICY_DMA_F_UNTRUSTED);
	if (allow_loosen()) {
		ASSERT_STREQ(group_type("pt-u0"), "identity");
		ASSERT_STREQ(group_type("pt-u1"), "DMA-FQ");
		ASSERT_RECORD("pt-u1", "dma_mode", IOMMU_POLICY_DMA_LAZY, "applied");
	} else {
		ASSERT_STREQ(group_type("pt-u0"), "DMA");
		ASSERT_STREQ(group_type("pt-u1"), "DMA");
		ASSERT_RECORD("pt-u0", "dma_mode", IOMMU_POLICY_DMA_STRICT, "no_optin");
		ASSERT_RECORD("pt-u1", "dma_mode", IOMMU_POLICY_DMA_STRICT, "no_optin");
	}
	detach(link);
	test_policy__destroy(skel);
}

TEST(dma_mode_driver_constraints_win)
{
	struct test_policy *skel;
	struct bpf_link *link;

	skel = policy(&link, 0, IOMMU_POLICY_DMA_STRICT, 0, 0, 0);
	/* the driver needs identity: strict is refused */
	MOCK_OK("add pt-c0 drv_identity");
	ASSERT_EQ(skel->bss->seen_dma_flags, IOMMU_POLICY_DMA_F_DRIVER);
	ASSERT_EQ(skel->bss->seen_dma_proposed, IOMMU_POLICY_DMA_IDENTITY);
	ASSERT_STREQ(group_type("pt-c0"), "identity");
	ASSERT_RECORD("pt-c0", "dma_mode", IOMMU_POLICY_DMA_IDENTITY, "driver");
	/*
	 * The driver needs translation, and the kernel takes its DMA type as
	 * strict: lazy is not the driver's concern, but it is loosening.
	 */
	skel->bss->def.dma = IOMMU_POLICY_DMA_LAZY;
	MOCK_OK("add pt-c1 drv_dma");
	if (allow_loosen()) {
		ASSERT_STREQ(group_type("pt-c1"), "DMA-FQ");
		ASSERT_RECORD("pt-c1", "dma_mode", IOMMU_POLICY_DMA_LAZY, "applied");
	} else {
		ASSERT_STREQ(group_type("pt-c1"), "DMA");
		ASSERT_RECORD("pt-c1", "dma_mode", IOMMU_POLICY_DMA_STRICT, "no_optin");
	}
	/* ... identity is not */
	skel->bss->def.dma = IOMMU_POLICY_DMA_IDENTITY;
	MOCK_OK("add pt-c2 drv_dma");
	ASSERT_STREQ(group_type("pt-c2"), "DMA");
	ASSERT_RECORD("pt-c2", "dma_mode", IOMMU_POLICY_DMA_STRICT, "driver");
	detach(link);
	test_policy__destroy(skel);
}

TEST(dma_mode_strictest_wins_in_group)
{
	struct test_policy *skel;
	struct bpf_link *link;

	const char *first = allow_loosen() ? "identity" : "DMA-FQ";
	unsigned long long calls;
	long long n;

	skel = policy(&link, 0, 0, 0, 0, 0);
	set_dev_all(skel, "pt-g0", 0, IOMMU_POLICY_DMA_IDENTITY, 0);
	set_dev_all(skel, "pt-g1", 0, IOMMU_POLICY_DMA_STRICT, 0);
	MOCK_OK("add pt-g0 group=g");
	ASSERT_STREQ(group_type("pt-g0"), first);
	/* a second device joins the group's existing domain */
	MOCK_OK("add pt-g1 group=g");
	ASSERT_STREQ(group_type("pt-g1"), first);

	/* the kernel's own re-evaluation asks about every device */
	ASSERT_EQ(set_group_type("pt-g0", "auto"), 0);
	ASSERT_STREQ(group_type("pt-g0"), "DMA");
	ASSERT_EQ(skel->bss->seen_dma_flags & IOMMU_POLICY_DMA_F_REEVAL,
		  IOMMU_POLICY_DMA_F_REEVAL);
	if (allow_loosen())
		ASSERT_RECORD("pt-g0", "dma_mode", IOMMU_POLICY_DMA_IDENTITY, "applied");
	else
		ASSERT_RECORD("pt-g0", "dma_mode", IOMMU_POLICY_DMA_LAZY, "no_optin");
	ASSERT_RECORD("pt-g1", "dma_mode", IOMMU_POLICY_DMA_STRICT, "applied");

	set_dev_all(skel, "pt-g1", 0, IOMMU_POLICY_DMA_LAZY, 0);
	ASSERT_EQ(set_group_type("pt-g0", "auto"), 0);
	ASSERT_STREQ(group_type("pt-g1"), "DMA-FQ");

	/* an explicit sysfs type is the administrator's: not asked */
	n = pol_ll("nr_dma_mode");
	calls = skel->bss->calls;
	ASSERT_EQ(set_group_type("pt-g0", "identity"), 0);
	ASSERT_STREQ(group_type("pt-g0"), "identity");
	ASSERT_EQ(pol_ll("nr_dma_mode"), n);
	ASSERT_EQ(skel->bss->calls, calls);
	detach(link);
	test_policy__destroy(skel);
}

TEST(dma_mode_sees_reserved_regions_and_pasids)
{
	struct test_policy *skel;
	struct bpf_link *link;

	skel = policy(&link, 0, 0, 0, 0, 0);
	MOCK_OK("add pt-k0 resv_direct pasid_bits=8");
	ASSERT_EQ(skel->bss->seen_dma_flags, IOMMU_POLICY_DMA_F_REQUIRE_DIRECT);
	ASSERT_EQ(skel->bss->seen_resv_direct, 1);
	ASSERT_EQ(skel->bss->seen_max_pasids, 256);
	detach(link);
	test_policy__destroy(skel);
}

/* --- resv_direct -------------------------------------------------------- */

TEST(resv_direct_claim_refused_without_policy)
{
	MOCK_OK("add pt-r0 resv_direct");
	ASSERT_EQ(mock("claim pt-r0"), -EINVAL);
	MOCK_OK("add pt-r1");
	ASSERT_EQ(mock("claim pt-r1"), 0);
	MOCK_OK("release pt-r1");
}

TEST(resv_direct_each_verdict)
{
	long long n = pol_ll("nr_resv_direct");
	struct test_policy *skel;
	struct bpf_link *link;

	skel = policy(&link, 0, 0, IOMMU_POLICY_RESV_DEFAULT, 0, 0);
	MOCK_OK("add pt-r2 resv_direct");
	ASSERT_EQ(mock("claim pt-r2"), -EINVAL);
	ASSERT_EQ(skel->bss->seen_resv_reason, IOMMU_POLICY_RESV_OWNER_CLAIM);
	ASSERT_RECORD("pt-r2", "resv_direct", IOMMU_POLICY_RESV_KEEP, "default");

	skel->bss->def.resv = IOMMU_POLICY_RESV_KEEP;
	ASSERT_EQ(mock("claim pt-r2"), -EINVAL);
	ASSERT_RECORD("pt-r2", "resv_direct", IOMMU_POLICY_RESV_KEEP, "applied");

	skel->bss->def.resv = IOMMU_POLICY_RESV_RELAX;
	if (allow_loosen()) {
		ASSERT_EQ(mock("claim pt-r2"), 0);
		ASSERT_RECORD("pt-r2", "resv_direct", IOMMU_POLICY_RESV_RELAX, "applied");
		MOCK_OK("release pt-r2");
	} else {
		ASSERT_EQ(mock("claim pt-r2"), -EINVAL);
		ASSERT_RECORD("pt-r2", "resv_direct", IOMMU_POLICY_RESV_KEEP, "no_optin");
	}
	ASSERT_EQ(pol_ll("nr_resv_direct"), n + 3);
	detach(link);
	test_policy__destroy(skel);
}

/* --- pasid_attach ------------------------------------------------------- */

TEST(pasid_attach_each_verdict)
{
	static const struct {
		int verdict;
		const char *domain;
		int ret, kind;
	} cases[] = {
		{ IOMMU_POLICY_PASID_DEFAULT, "dma", 0, IOMMU_POLICY_DOMAIN_DMA },
		{ IOMMU_POLICY_PASID_ALLOW, "paging", 0, IOMMU_POLICY_DOMAIN_PAGING },
		{ IOMMU_POLICY_PASID_DENY, "dma", -EPERM, IOMMU_POLICY_DOMAIN_DMA },
		{ IOMMU_POLICY_PASID_PHYS, "identity", 0, IOMMU_POLICY_DOMAIN_IDENTITY },
		{ IOMMU_POLICY_PASID_PHYS, "dma", -EPERM, IOMMU_POLICY_DOMAIN_DMA },
		{ IOMMU_POLICY_PASID_IOVA, "dma", 0, IOMMU_POLICY_DOMAIN_DMA },
		{ IOMMU_POLICY_PASID_IOVA, "paging", 0, IOMMU_POLICY_DOMAIN_PAGING },
		{ IOMMU_POLICY_PASID_IOVA, "identity", -EPERM, IOMMU_POLICY_DOMAIN_IDENTITY },
	};
	struct test_policy *skel;
	struct bpf_link *link;

	skel = policy(&link, 0, 0, 0, 0, 0);
	MOCK_OK("add pt-p0 pasid_bits=8");
	for (int i = 0; i < 8; i++) {
		int pasid = 10 + i;

		skel->bss->def.pasid = cases[i].verdict;
		TH_LOG("pasid verdict %d, %s domain", cases[i].verdict,
		       cases[i].domain);
		ASSERT_EQ(mock("pasid pt-p0 %d %s", pasid, cases[i].domain),
			  cases[i].ret);
		ASSERT_EQ(skel->bss->seen_pasid, pasid);
		ASSERT_EQ(skel->bss->seen_pasid_domain, cases[i].kind);
		/* the RID's domain, as the group's sysfs type tells */
		ASSERT_EQ(!!(skel->bss->seen_pasid_flags & IOMMU_POLICY_PASID_F_RID_IDENTITY),
			  !strcmp(group_type("pt-p0"), "identity"));
		ASSERT_RECORD("pt-p0", "pasid_attach",
			      cases[i].verdict ?: IOMMU_POLICY_PASID_ALLOW,
			      cases[i].verdict ? "applied" : "default");
		if (!cases[i].ret)
			MOCK_OK("unpasid pt-p0 %d", pasid);
	}
	detach(link);
	test_policy__destroy(skel);
}

/* --- dma_owner ---------------------------------------------------------- */

TEST(dma_owner_each_verdict)
{
	struct test_policy *skel;
	struct bpf_link *link;

	skel = policy(&link, 0, 0, 0, 0, IOMMU_POLICY_OWNER_DEFAULT);
	MOCK_OK("add pt-o0");
	MOCK_OK("claim pt-o0");
	ASSERT_EQ(skel->bss->seen_owner_flags, IOMMU_POLICY_OWNER_F_DEVICE);
	ASSERT_RECORD("pt-o0", "dma_owner", IOMMU_POLICY_OWNER_ALLOW, "default");
	MOCK_OK("release pt-o0");

	skel->bss->def.owner = IOMMU_POLICY_OWNER_ALLOW;
	MOCK_OK("claim pt-o0");
	ASSERT_RECORD("pt-o0", "dma_owner", IOMMU_POLICY_OWNER_ALLOW, "applied");
	MOCK_OK("release pt-o0");

	skel->bss->def.owner = IOMMU_POLICY_OWNER_DENY;
	ASSERT_EQ(mock("claim pt-o0"), -EPERM);
	ASSERT_RECORD("pt-o0", "dma_owner", IOMMU_POLICY_OWNER_DENY, "applied");

	/* an IOMMU that can force the device's DMA coherent says so */
	skel->bss->def.owner = IOMMU_POLICY_OWNER_ALLOW;
	MOCK_OK("add pt-o1 coherent");
	MOCK_OK("claim pt-o1");
	ASSERT_EQ(skel->bss->seen_owner_flags,
		  IOMMU_POLICY_OWNER_F_DEVICE | IOMMU_POLICY_OWNER_F_COHERENT);
	MOCK_OK("release pt-o1");
	detach(link);
	test_policy__destroy(skel);
}

/* --- fail-safe ---------------------------------------------------------- */

/*
 * The kernel detached @link's policy from its work item for an error of
 * @hook deciding @dev: the loader sees EPOLLHUP, sysfs keeps the record.
 */
static void expect_failsafe_detach(struct bpf_link *link, const char *hook,
				   const char *dev)
{
	struct pollfd pfd = { .fd = bpf_link__fd(link), .events = POLLIN };

	ASSERT_EQ(poll(&pfd, 1, 5000), 1);
	ASSERT_TRUE(pfd.revents & POLLHUP);
	ASSERT_TRUE(state_is("disabled", 5000));
	ASSERT_STREQ(pol("last_exit_kind"), "error");
	ASSERT_STREQ(pol("last_exit_reason"), "runtime error");
	ASSERT_STREQ(pol("last_exit_hook"), hook);
	ASSERT_STREQ(pol("last_exit_device"), dev);
}

TEST(invalid_verdict_detaches_policy)
{
	long long invalid = pol_ll("nr_invalid"), errors = pol_ll("nr_errors");
	struct test_policy *skel;
	struct bpf_link *link;
	long long n;

	/* hold the fail-safe's detach, to probe while it is pending */
	set_detach_delay(2000);
	skel = policy(&link, 0, 77, 0, 0, 0);
	MOCK_OK("add pt-x0");
	/* the decision falls back to the kernel's */
	ASSERT_STREQ(group_type("pt-x0"), "DMA-FQ");
	ASSERT_RECORD("pt-x0", "dma_mode", IOMMU_POLICY_DMA_LAZY, "invalid");
	ASSERT_EQ(pol_ll("nr_invalid"), invalid + 1);
	ASSERT_EQ(pol_ll("nr_errors"), errors + 1);
	/* still attached, but failed: it is asked nothing more */
	n = pol_ll("nr_dma_mode");
	MOCK_OK("add pt-x3");
	ASSERT_STREQ(pol("state"), "enabled");
	ASSERT_EQ(pol_ll("nr_dma_mode"), n);
	ASSERT_STREQ(group_type("pt-x3"), "DMA-FQ");
	set_detach_delay(0);

	expect_failsafe_detach(link, "dma_mode", "pt-x0");
	ASSERT_STRSTR(pol("last_exit_msg"), "dma_mode(pt-x0) returned 77");
	ASSERT_EQ(skel->bss->exit_kind, IOMMU_POLICY_EXIT_ERROR);
	ASSERT_EQ(skel->bss->exit_hook, IOMMU_POLICY_HOOK_DMA_MODE);
	ASSERT_EQ(skel->bss->exit_value, 77);
	ASSERT_STRSTR(skel->bss->exit_msg, "returned 77");

	/* no more decisions; the record stays */
	n = pol_ll("nr_dma_mode");
	MOCK_OK("add pt-x1");
	ASSERT_EQ(pol_ll("nr_dma_mode"), n);
	ASSERT_STREQ(pol("last_exit_kind"), "error");
	bpf_link__destroy(link);
	test_policy__destroy(skel);
}

TEST(negative_verdict_is_invalid_too)
{
	struct test_policy *skel;
	struct bpf_link *link;

	skel = policy(&link, -1, 0, 0, 0, 0);
	MOCK_OK("add pt-x2 untrusted");
	ASSERT_STREQ(group_type("pt-x2"), "DMA");
	ASSERT_RECORD("pt-x2", "dev_trust", IOMMU_POLICY_TRUST_UNTRUSTED, "invalid");
	ASSERT_TRUE(state_is("disabled", 5000));
	ASSERT_STRSTR(pol("last_exit_msg"), "dev_trust(pt-x2) returned -1");
	bpf_link__destroy(link);
	test_policy__destroy(skel);
}

TEST(init_error_refuses_attach)
{
	long long errors = pol_ll("nr_errors");
	struct test_policy *skel = load_policy(NULL);

	skel->bss->init_ret = -ENODEV;
	expect_attach_refused(skel->maps.test_ops, ENODEV);
	ASSERT_STREQ(pol("state"), "disabled");
	ASSERT_STREQ(pol("last_exit_kind"), "error_init");
	ASSERT_STREQ(pol("last_exit_hook"), "init");
	ASSERT_STRSTR(pol("last_exit_msg"), "returned -19");
	ASSERT_EQ(pol_ll("nr_errors"), errors + 1);
	ASSERT_EQ(skel->bss->exit_kind, IOMMU_POLICY_EXIT_ERROR_INIT);
	test_policy__destroy(skel);
}

/* --- replacement -------------------------------------------------------- */

TEST(replace_through_link_update)
{
	struct test_policy *a, *b;
	struct bpf_link *link;
	long long seq;

	a = policy(&link, 0, IOMMU_POLICY_DMA_STRICT, 0, 0, 0);
	seq = pol_ll("enable_seq");
	MOCK_OK("add pt-a0");
	ASSERT_STREQ(group_type("pt-a0"), "DMA");

	b = load_policy("test2");
	b->bss->def.dma = IOMMU_POLICY_DMA_IDENTITY;
	ASSERT_EQ(bpf_link__update_map(link, b->maps.test_ops), 0);
	ASSERT_STREQ(pol("state"), "enabled");
	ASSERT_STREQ(pol("name"), "test2");
	ASSERT_EQ(pol_ll("enable_seq"), seq + 1);
	ASSERT_STREQ(pol("last_exit_kind"), "replaced");
	ASSERT_EQ(a->bss->exit_kind, IOMMU_POLICY_EXIT_REPLACED);
	MOCK_OK("add pt-a1");
	ASSERT_STREQ(group_type("pt-a1"), allow_loosen() ? "identity" : "DMA-FQ");

	/* a failing init() keeps the current policy */
	a->bss->init_ret = -EINVAL;
	ASSERT_TRUE(bpf_link__update_map(link, a->maps.test_ops) < 0);
	ASSERT_STREQ(pol("name"), "test2");
	ASSERT_STREQ(pol("state"), "enabled");

	detach(link);
	ASSERT_EQ(b->bss->exit_kind, IOMMU_POLICY_EXIT_UNREG);
	test_policy__destroy(b);
	test_policy__destroy(a);
}

/* --- tracepoint --------------------------------------------------------- */

TEST(every_decision_is_traced)
{
	char buf[64 * 1024], *line;
	long long n = pol_ll("nr_decisions");
	const char *want[3] = {
		"hook=dev_trust device=pt-e0 proposed=1 verdict=2 applied=2 reason=applied ",
		allow_loosen() ?
		"hook=dma_mode device=pt-e0 proposed=3 verdict=1 applied=1 reason=applied " :
		"hook=dma_mode device=pt-e0 proposed=3 verdict=1 applied=3 reason=no_optin ",
		"hook=dma_owner device=pt-e0 proposed=1 verdict=0 applied=1 reason=default ",
	};
	struct test_policy *skel;
	struct bpf_link *link;
	int lines = 0, seen[3] = {};

	rmdir(TRACEFS "instances/policy_test");
	ASSERT_EQ(mkdir(TRACEFS "instances/policy_test", 0755), 0);
	ASSERT_EQ(write_file(TRACEFS "instances/policy_test/events/iommu/policy_decision/enable", "1"), 0);

	skel = policy(&link, IOMMU_POLICY_TRUST_UNTRUSTED,
		      IOMMU_POLICY_DMA_IDENTITY, 0, 0, 0);
	MOCK_OK("add pt-e0");
	MOCK_OK("claim pt-e0");
	MOCK_OK("release pt-e0");
	detach(link);

	ASSERT_EQ(read_file(TRACEFS "instances/policy_test/trace", buf, sizeof(buf)), 0);
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (line[0] == '#' || !strstr(line, "policy_decision:"))
			continue;
		lines++;
		TH_LOG("%s", line);
		for (int i = 0; i < 3; i++)
			seen[i] += !!strstr(line, want[i]);
	}
	write_file(TRACEFS "instances/policy_test/events/iommu/policy_decision/enable", "0");
	rmdir(TRACEFS "instances/policy_test");
	/* each decision the kernel made, traced once, with what it applied */
	for (int i = 0; i < 3; i++) {
		TH_LOG("'%s': %d", want[i], seen[i]);
		ASSERT_EQ(seen[i], 1);
	}
	/* and nothing else: the three records are the decisions made */
	ASSERT_EQ(lines, 3);
	ASSERT_EQ(pol_ll("nr_decisions") - n, 3);
	ASSERT_RECORD("pt-e0", "dev_trust", IOMMU_POLICY_TRUST_UNTRUSTED, "applied");
	ASSERT_RECORD("pt-e0", "dma_owner", IOMMU_POLICY_OWNER_ALLOW, "default");
	test_policy__destroy(skel);
}

/*
 * How long can one decision take?  A callback may spin in bpf_loop() for
 * BPF_MAX_LOOPS (1 << 23) iterations, and loops nest: nothing in 6.12
 * bounds it but the program's author.  Measure one full bpf_loop() under
 * group->mutex and RCU against a plain decision; the kernel must stay
 * usable (the console check catches RCU stalls and lockups) and the
 * verdict is applied all the same.
 */
TEST_TIMEOUT(a_decision_may_spin_a_whole_bpf_loop, 120)
{
	struct test_policy *skel;
	struct bpf_link *link;
	struct timespec a, b;
	long long slow = pol_ll("nr_slow");
	double plain, spun;

	/* unbounded here: the next test bounds it */
	set_decision_timeout(0);
	skel = policy(&link, 0, IOMMU_POLICY_DMA_STRICT, 0, 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	MOCK_OK("add pt-l0");
	clock_gettime(CLOCK_MONOTONIC, &b);
	plain = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;

	skel->bss->spin = 1 << 23;
	clock_gettime(CLOCK_MONOTONIC, &a);
	MOCK_OK("add pt-l1");
	clock_gettime(CLOCK_MONOTONIC, &b);
	spun = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
	TH_LOG("a probe with a plain decision: %.1f ms; with 1 << 23 bpf_loop() "
	       "iterations in dma_mode(): %.1f ms (%.0fx)", plain, spun, spun / plain);
	ASSERT_STREQ(group_type("pt-l1"), "DMA");
	ASSERT_RECORD("pt-l1", "dma_mode", IOMMU_POLICY_DMA_STRICT, "applied");
	ASSERT_STREQ(pol("state"), "enabled");
	ASSERT_EQ(pol_ll("nr_slow"), slow);
	ASSERT_TRUE(spun > plain);
	MOCK_OK("del pt-l1");
	MOCK_OK("del pt-l0");
	detach(link);
	test_policy__destroy(skel);
}

/*
 * The kernel's bound: a decision longer than decision_timeout_ms stands (it
 * is valid, and the probe has waited for it), but the policy is detached
 * through the fail-safe and asked nothing more.
 */
TEST_TIMEOUT(slow_decision_detaches_policy, 120)
{
	long long slow = pol_ll("nr_slow"), errors = pol_ll("nr_errors");
	long long invalid = pol_ll("nr_invalid"), n;
	struct test_policy *skel;
	struct bpf_link *link;

	ASSERT_STREQ(decision_timeout_boot, "1000");
	set_decision_timeout(10);
	skel = policy(&link, 0, IOMMU_POLICY_DMA_STRICT, 0, 0, 0);
	skel->bss->spin = 1 << 23;
	MOCK_OK("add pt-w0");
	ASSERT_STREQ(group_type("pt-w0"), "DMA");
	ASSERT_RECORD("pt-w0", "dma_mode", IOMMU_POLICY_DMA_STRICT, "applied");
	ASSERT_EQ(pol_ll("nr_slow"), slow + 1);
	ASSERT_EQ(pol_ll("nr_errors"), errors + 1);
	ASSERT_EQ(pol_ll("nr_invalid"), invalid);

	expect_failsafe_detach(link, "dma_mode", "pt-w0");
	ASSERT_STREQ(pol("name"), "");
	ASSERT_STRSTR(pol("last_exit_msg"), "dma_mode(pt-w0) took ");
	ASSERT_STRSTR(pol("last_exit_msg"),
		      "ms, longer than iommu_policy.decision_timeout_ms=10");
	ASSERT_EQ(skel->bss->exit_kind, IOMMU_POLICY_EXIT_ERROR);
	ASSERT_EQ(skel->bss->exit_hook, IOMMU_POLICY_HOOK_DMA_MODE);
	ASSERT_GT(skel->bss->exit_value, 10);
	TH_LOG("%s", pol("last_exit_msg"));

	/* asked nothing more: the next device gets the kernel's choice */
	n = pol_ll("nr_dma_mode");
	MOCK_OK("add pt-w1");
	ASSERT_EQ(pol_ll("nr_dma_mode"), n);
	ASSERT_STREQ(group_type("pt-w1"), "DMA-FQ");
	bpf_link__destroy(link);
	test_policy__destroy(skel);
}

struct attach_arg {
	struct test_policy *skel;
	struct bpf_link *link;
};

static void *do_attach(void *p)
{
	struct attach_arg *a = p;

	a->link = bpf_map__attach_struct_ops(a->skel->maps.test_ops);
	return NULL;
}

/*
 * init() is sleepable and runs under the policy mutex: while it is held
 * open, the state says so and a reader of "name" gets an answer at once,
 * before init() returns, instead of waiting on that mutex.
 */
TEST_TIMEOUT(name_readers_do_not_wait_for_init, 120)
{
	struct test_policy *skel = load_policy("slow_init");
	struct attach_arg a = { skel, NULL };
	pthread_t t;

	skel->bss->init_hold = 1;
	ASSERT_EQ(pthread_create(&t, NULL, do_attach, &a), 0);
	ASSERT_TRUE(wait_for(&skel->bss->init_held, 10000));
	ASSERT_STREQ(pol("state"), "enabling");
	ASSERT_STREQ(pol("name"), "");
	/* every read above returned while init() was still held */
	ASSERT_EQ(skel->bss->init_done, 0);
	skel->bss->init_release = 1;
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_TRUE(a.link);
	ASSERT_EQ(skel->bss->init_done, 1);
	ASSERT_STREQ(pol("state"), "enabled");
	ASSERT_STREQ(pol("name"), "slow_init");
	detach(a.link);
	ASSERT_STREQ(pol("name"), "");
	test_policy__destroy(skel);
}

/* --- faults injected --------------------------------------------------- */

#define FAIL_NTH	"/proc/thread-self/fail-nth"
#define DEBUGFS		"/sys/kernel/debug/"

/*
 * fail-nth (Documentation/fault-injection): the n-th fault point this task
 * reaches fails. Let slab and page allocations that may sleep count too,
 * quietly; SKIP if this kernel has no such fault points.
 */
static void fault_injection_setup(void)
{
	static const char *const knobs[][2] = {
		{ DEBUGFS "failslab/ignore-gfp-wait", "N" },
		{ DEBUGFS "failslab/verbose", "0" },
		{ DEBUGFS "fail_page_alloc/ignore-gfp-wait", "N" },
		{ DEBUGFS "fail_page_alloc/ignore-gfp-highmem", "N" },
		{ DEBUGFS "fail_page_alloc/min-order", "0" },
		{ DEBUGFS "fail_page_alloc/verbose", "0" },
	};

	if (access(FAIL_NTH, W_OK) || access(knobs[0][0], W_OK))
		SKIP("no fail-nth or failslab: a kernel without FAILSLAB");
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		ASSERT_EQ(write_file(knobs[i][0], knobs[i][1]), 0);
}

/*
 * Run @op with its n-th fault point failing, for n = 1, 2, ... until it
 * completes without reaching the n-th; @check judges every attempt (@ret
 * is what @op returned) and cleans up after it. Returns the number of
 * fault points walked.
 */
static int fail_nth_walk(int (*op)(void *ctx),
			 void (*check)(void *ctx, int n, int ret), void *ctx)
{
	int fd = open(FAIL_NTH, O_RDWR), failed = 0;
	char buf[16];

	ASSERT_GE(fd, 0);
	for (int n = 1; n < 5000; n++) {
		ssize_t len;
		int ret;

		len = snprintf(buf, sizeof(buf), "%d", n);
		ASSERT_EQ(pwrite(fd, buf, len, 0), len);
		ret = op(ctx);
		len = pread(fd, buf, sizeof(buf) - 1, 0);
		ASSERT_EQ(pwrite(fd, "0", 1, 0), 1);
		ASSERT_GT(len, 0);
		buf[len] = '\0';
		failed += ret < 0;
		check(ctx, n, ret);
		/* still armed: @op reached fewer than n fault points */
		if (atoi(buf) > 0) {
			close(fd);
			TH_LOG("%d fault points, %d of them failed the operation",
			       n - 1, failed);
			ASSERT_GT(n, 1);
			return n - 1;
		}
	}
	__FAIL("the walk did not end within 5000 fault points");
}

/* decisions traced in instance @inst, by hook (reason=group excluded) */
static void trace_begin(const char *inst)
{
	char path[256];

	snprintf(path, sizeof(path), TRACEFS "instances/%s", inst);
	rmdir(path);
	ASSERT_EQ(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), TRACEFS "instances/%s/buffer_size_kb", inst);
	ASSERT_EQ(write_file(path, "8192"), 0);
	snprintf(path, sizeof(path),
		 TRACEFS "instances/%s/events/iommu/policy_decision/enable", inst);
	ASSERT_EQ(write_file(path, "1"), 0);
}

/* Stop tracing decisions in @inst; trace_count() reads what it saw */
static void trace_stop(const char *inst)
{
	char path[256];

	snprintf(path, sizeof(path),
		 TRACEFS "instances/%s/events/iommu/policy_decision/enable", inst);
	write_file(path, "0");
}

static int trace_count(const char *inst, const char *hook)
{
	static char buf[1 << 20];
	char path[256], want[64], *line;
	int n = 0, lines = 0;

	snprintf(path, sizeof(path), TRACEFS "instances/%s/trace", inst);
	ASSERT_EQ(read_file(path, buf, sizeof(buf)), 0);
	/* a trace that filled buf would be counted short */
	ASSERT_LE(strlen(buf), sizeof(buf) - 16);
	snprintf(want, sizeof(want), "hook=%s ", hook);
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		lines++;
		n += line[0] != '#' && strstr(line, "policy_decision:") &&
		     strstr(line, want) && !strstr(line, "reason=group");
	}
	TH_LOG("trace instance %s: %d lines, %d %s decisions", inst, lines, n,
	       hook);
	return n;
}

static void trace_end(const char *inst)
{
	char path[256];

	snprintf(path, sizeof(path), TRACEFS "instances/%s", inst);
	rmdir(path);
}

struct fault_ctx {
	struct test_policy *a, *b;
	struct bpf_link *link;
	unsigned int init_calls;
	int errnos[4];
};

static int op_attach(void *p)
{
	struct fault_ctx *c = p;

	c->link = bpf_map__attach_struct_ops(c->a->maps.test_ops);
	return c->link ? 0 : -errno;
}

/* Attached and whole, or not attached at all; init() only if it is */
static void check_attach(void *p, int n, int ret)
{
	struct fault_ctx *c = p;

	if (ret) {
		if (ret != -ENOMEM)
			TH_LOG("fault point %d: attach failed with %s", n,
			       strerror(-ret));
		ASSERT_STREQ(pol("state"), "disabled");
		ASSERT_STREQ(pol("name"), "");
		ASSERT_EQ(c->a->bss->init_calls, c->init_calls);
		return;
	}
	ASSERT_EQ(c->a->bss->init_calls, ++c->init_calls);
	ASSERT_STREQ(pol("state"), "enabled");
	ASSERT_STREQ(pol("name"), "fault_a");
	MOCK_OK("add pt-fa");
	ASSERT_RECORD("pt-fa", "dma_mode", IOMMU_POLICY_DMA_STRICT, "applied");
	MOCK_OK("del pt-fa");
	detach(c->link);
}

TEST_TIMEOUT(failed_allocations_while_attaching, 600)
{
	struct fault_ctx c = {};

	fault_injection_setup();
	c.a = load_policy("fault_a");
	c.a->bss->def.dma = IOMMU_POLICY_DMA_STRICT;
	fail_nth_walk(op_attach, check_attach, &c);
	test_policy__destroy(c.a);
}

static int op_replace(void *p)
{
	struct fault_ctx *c = p;

	return bpf_link__update_map(c->link, c->b->maps.test_ops);
}

/* Replaced, or the old policy still attached and its record unchanged */
static void check_replace(void *p, int n, int ret)
{
	struct fault_ctx *c = p;

	ASSERT_STREQ(pol("state"), "enabled");
	if (ret) {
		if (ret != -ENOMEM)
			TH_LOG("fault point %d: replace failed with %s", n,
			       strerror(-ret));
		ASSERT_STREQ(pol("name"), "fault_a");
		ASSERT_EQ(c->a->bss->exit_kind, 0);
	} else {
		ASSERT_STREQ(pol("name"), "fault_b");
		ASSERT_EQ(c->a->bss->exit_kind, IOMMU_POLICY_EXIT_REPLACED);
	}
	MOCK_OK("add pt-fr");
	ASSERT_RECORD("pt-fr", "dma_mode", ret ? IOMMU_POLICY_DMA_STRICT :
		      IOMMU_POLICY_DMA_LAZY, ret ? "applied" : "default");
	MOCK_OK("del pt-fr");
	detach(c->link);
	c->a->bss->exit_kind = 0;
	c->link = attach(c->a);
}

TEST_TIMEOUT(failed_allocations_while_replacing, 600)
{
	struct fault_ctx c = {};

	fault_injection_setup();
	c.a = load_policy("fault_a");
	c.a->bss->def.dma = IOMMU_POLICY_DMA_STRICT;
	c.b = load_policy("fault_b");
	c.link = attach(c.a);
	fail_nth_walk(op_replace, check_replace, &c);
	detach(c.link);
	test_policy__destroy(c.b);
	test_policy__destroy(c.a);
}

static int op_mock_add(void *p)
{
	return mock("add pt-fd");
}

/* The walk of a device add, attempt by attempt */
struct add_walk {
	struct test_policy *skel;
	int driver_fallbacks, attempts, added;
	/* the counters and the program's calls before the attempt */
	long long trust, dma, calls;
	/* the decisions of all attempts */
	long long trusts, dmas;
};

static void add_walk_snapshot(struct add_walk *w)
{
	w->trust = pol_ll("nr_dev_trust");
	w->dma = pol_ll("nr_dma_mode");
	w->calls = w->skel->bss->calls;
}

/*
 * The mock driver's device add, the IOMMU probe, its default domain and
 * the policy's decisions, all in this task: added and decided, or gone.
 */
static void check_mock_add(void *p, int n, int ret)
{
	struct add_walk *w = p;
	long long trust = pol_ll("nr_dev_trust") - w->trust;
	long long dma = pol_ll("nr_dma_mode") - w->dma;
	long long calls = (long long)w->skel->bss->calls - w->calls;
	char path[256], type[64];
	struct record r;

	/*
	 * What the attempt must have asked, from the attempt itself rather
	 * than from the function that counts and traces: the policy stays
	 * attached throughout (asserted after the walk), so an added device
	 * was probed once, and a probe asks dev_trust() once and, its group
	 * (no group= tag) being new, dma_mode() once. An attempt the fault
	 * failed has no exact count, where the fault struck decides: at
	 * most one dev_trust(), and a dma_mode() only after it. The program
	 * itself saw every call the kernel counted (its calls, pt-* only).
	 */
	if (!ret) {
		ASSERT_EQ(trust, 1);
		ASSERT_EQ(dma, 1);
	} else {
		ASSERT_GE(dma, 0);
		ASSERT_LE(dma, trust);
		ASSERT_LE(trust, 1);
	}
	ASSERT_EQ(calls, trust + dma);
	w->trusts += trust;
	w->dmas += dma;
	w->attempts++;
	w->added += !ret;

	snprintf(path, sizeof(path), PLATFORM "pt-fd/iommu_group/type");
	if (!ret) {
		/*
		 * Added and decided: strict, or the kernel's lazy if the
		 * driver could not allocate the strict domain, and then the
		 * record says so (reason driver)
		 */
		ASSERT_TRUE(verdict_of("pt-fd", "dma_mode", &r));
		ASSERT_EQ(r.applied, IOMMU_POLICY_DMA_STRICT);
		if (!strcmp(r.reason, "driver")) {
			TH_LOG("fault point %d: the strict domain failed, the kernel's is in effect", n);
			ASSERT_STREQ(group_type("pt-fd"), "DMA-FQ");
			w->driver_fallbacks++;
		} else {
			ASSERT_STREQ(r.reason, "applied");
			ASSERT_STREQ(group_type("pt-fd"), "DMA");
		}
	} else if (!read_file(path, type, sizeof(type))) {
		/* a device left without its domain must not be half-decided */
		if (verdict_of("pt-fd", "dma_mode", &r))
			ASSERT_STREQ(type, r.applied == IOMMU_POLICY_DMA_STRICT &&
				     !strcmp(r.reason, "applied") ? "DMA" : "DMA-FQ");
	}
	mock("del pt-fd");
	ASSERT_TRUE(access(PLATFORM "pt-fd", F_OK));
	/* what the next attempt starts from: the del must decide nothing */
	add_walk_snapshot(w);
}

TEST_TIMEOUT(failed_allocations_while_a_device_is_added_and_decided, 900)
{
	long long errors = pol_ll("nr_errors"), clamped = pol_ll("nr_clamped");
	struct add_walk w = {};
	struct bpf_link *link;
	long long trust, dma;

	fault_injection_setup();
	w.skel = policy(&link, 0, IOMMU_POLICY_DMA_STRICT, 0, 0, 0);
	trace_begin("fault_walk");
	add_walk_snapshot(&w);
	trust = w.trust;
	dma = w.dma;
	/*
	 * The walk must reach the allocation of the domain the policy chose.
	 * Allocations this task makes for others can step over it: a debug
	 * kernel refills its object pools (debugobjects, the stack depot) in
	 * whichever task finds them low, so a refill can take the n-th fault
	 * point in one attempt and the (n+1)-th is past the domain in the
	 * next. A walk that steps over it is walked again, at most twice.
	 */
	for (int walk = 1; walk <= 3 && !w.driver_fallbacks; walk++) {
		if (walk > 1)
			TH_LOG("walk %d: the last walk never failed the strict domain", walk);
		fail_nth_walk(op_mock_add, check_mock_add, &w);
	}
	trace_stop("fault_walk");
	ASSERT_GT(w.driver_fallbacks, 0);
	ASSERT_GT(w.added, 0);
	TH_LOG("%d attempts, %d added: %lld dev_trust and %lld dma_mode decisions",
	       w.attempts, w.added, w.trusts, w.dmas);
	/*
	 * Nothing decided outside the attempts' adds; every decision made
	 * counted and traced once, failed probes too, and each verdict found
	 * not in effect traced once more, as clamped
	 */
	ASSERT_EQ(pol_ll("nr_dev_trust") - trust, w.trusts);
	ASSERT_EQ(pol_ll("nr_dma_mode") - dma, w.dmas);
	ASSERT_EQ(trace_count("fault_walk", "dev_trust"), w.trusts);
	ASSERT_EQ(trace_count("fault_walk", "dma_mode"), w.dmas + w.driver_fallbacks);
	trace_end("fault_walk");
	ASSERT_EQ(pol_ll("nr_clamped") - clamped, w.driver_fallbacks);
	ASSERT_STREQ(pol("state"), "enabled");
	ASSERT_EQ(pol_ll("nr_errors"), errors);
	detach(link);
	test_policy__destroy(w.skel);
}

/* --- races -------------------------------------------------------------- */

TEST_TIMEOUT(detach_while_deciding, 240)
{
	struct test_policy *skel = load_policy(NULL);
	int status, rounds = 30;
	pid_t pid;

	skel->bss->def.dma = IOMMU_POLICY_DMA_STRICT;
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* probe and remove devices while the parent flips the policy */
		for (int i = 0; i < rounds * 2; i++) {
			const char *type;

			struct record r;

			if (mock("add pt-s0"))
				_exit(1);
			type = group_type("pt-s0");
			/*
			 * Asked (a record: the policy said strict) or not
			 * (none: the kernel's lazy), the domain is what the
			 * decision said, never a mix of two policies' states.
			 */
			if (verdict_of("pt-s0", "dma_mode", &r) ?
			    strcmp(type, "DMA") || r.applied != IOMMU_POLICY_DMA_STRICT :
			    strcmp(type, "DMA-FQ"))
				_exit(2);
			if (mock("del pt-s0"))
				_exit(3);
		}
		_exit(0);
	}
	for (int i = 0; i < rounds; i++) {
		struct bpf_link *link = attach(skel);

		usleep(1000 * (i % 5));
		bpf_link__destroy(link);
		ASSERT_TRUE(state_is("disabled", 5000));
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
	ASSERT_GT(skel->bss->calls, 0);
	test_policy__destroy(skel);
}

/* --- real PCI devices behind the emulated Intel IOMMU ------------------ */

/* QEMU's edu device, with (want_rmrr) or without an RMRR; false if none */
static bool find_edu(bool want_rmrr, char *bdf, size_t size)
{
	char path[512], buf[4096];
	struct dirent *de;
	bool found = false;
	DIR *d = opendir(PCI_DEVS);

	while (d && !found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), PCI_DEVS "%s/vendor", de->d_name);
		if (read_file(path, buf, sizeof(buf)) || strcmp(buf, "0x1234"))
			continue;
		snprintf(path, sizeof(path), PCI_DEVS "%s/device", de->d_name);
		if (read_file(path, buf, sizeof(buf)) || strcmp(buf, "0x11e8"))
			continue;
		snprintf(path, sizeof(path), PCI_DEVS "%s/iommu_group/reserved_regions",
			 de->d_name);
		if (read_file(path, buf, sizeof(buf)))
			continue;
		if (!!strstr(buf, " direct") == want_rmrr) {
			snprintf(bdf, size, "%s", de->d_name);
			found = true;
		}
	}
	if (d)
		closedir(d);
	return found;
}

static unsigned long long intel_ecap(void)
{
	char buf[64];

	if (read_file("/sys/class/iommu/dmar0/intel-iommu/ecap", buf, sizeof(buf)))
		__FAIL("no intel-iommu ecap in sysfs");
	return strtoull(buf, NULL, 16);
}

static const char *pci_group_type(const char *bdf)
{
	return group_type_on(PCI_DEVS, bdf);
}

/* Remove the device and rescan the bus: it is probed afresh */
static void pci_reprobe(const char *bdf)
{
	char path[256];

	snprintf(path, sizeof(path), PCI_DEVS "%s/remove", bdf);
	ASSERT_EQ(write_file(path, "1"), 0);
	ASSERT_EQ(write_file("/sys/bus/pci/rescan", "1"), 0);
	snprintf(path, sizeof(path), PCI_DEVS "%s", bdf);
	ASSERT_EQ(access(path, F_OK), 0);
}

TEST_TIMEOUT(pci_policy_applies_on_rescan_and_auto, 180)
{
	struct test_policy *skel;
	struct bpf_link *link;
	char bdf[32], path[256];

	if (!find_edu(false, bdf, sizeof(bdf)))
		SKIP("no edu device without RMRR: boot the 'policy' profile");
	skel = policy(&link, 0, 0, 0, 0, 0);

	/* hotplug: the re-probed device gets the policy's mode */
	set_dev_all(skel, bdf, 0, IOMMU_POLICY_DMA_STRICT, 0);
	pci_reprobe(bdf);
	ASSERT_STREQ(pci_group_type(bdf), "DMA");
	ASSERT_RECORD(bdf, "dma_mode", IOMMU_POLICY_DMA_STRICT, "applied");
	ASSERT_EQ(skel->bss->seen_is_pci, 1);
	ASSERT_EQ(skel->bss->seen_pci_ids, 0x123411e8);
	ASSERT_EQ(skel->bss->seen_fw_flags & IOMMU_POLICY_FW_PCI,
		  IOMMU_POLICY_FW_PCI);
	ASSERT_STRSTR(skel->bss->seen_iommu_name, "dmar");
	ASSERT_EQ(skel->bss->seen_iommu_name_ret, (int)strlen(skel->bss->seen_iommu_name));

	/* the kernel's own re-evaluation of an unbound group */
	set_dev_all(skel, bdf, 0, IOMMU_POLICY_DMA_IDENTITY, 0);
	snprintf(path, sizeof(path), PCI_DEVS "%s/iommu_group/type", bdf);
	ASSERT_EQ(write_file(path, "auto"), 0);
	ASSERT_STREQ(pci_group_type(bdf), allow_loosen() ? "identity" : "DMA-FQ");

	/* trust: an untrusted verdict forces strict translation */
	set_dev_all(skel, bdf, IOMMU_POLICY_TRUST_UNTRUSTED, 0, 0);
	pci_reprobe(bdf);
	ASSERT_STREQ(pci_group_type(bdf), "DMA");
	ASSERT_RECORD(bdf, "dev_trust", IOMMU_POLICY_TRUST_UNTRUSTED, "applied");

	/* gone: the next re-evaluation is the kernel's again */
	detach(link);
	pci_reprobe(bdf);
	ASSERT_STREQ(pci_group_type(bdf), "DMA-FQ");
	test_policy__destroy(skel);
}

#define VFIO_DEVICE_BIND_IOMMUFD _IO(';', 100 + 18)

struct vfio_bind {
	unsigned int argsz, flags;
	int iommufd;
	unsigned int out_devid;
};

static void pci_set_driver(const char *bdf, const char *drv)
{
	char path[256];

	snprintf(path, sizeof(path), PCI_DEVS "%s/driver/unbind", bdf);
	write_file(path, bdf);
	snprintf(path, sizeof(path), PCI_DEVS "%s/driver_override", bdf);
	ASSERT_EQ(write_file(path, drv ? drv : "\n"), 0);
	if (drv)
		ASSERT_EQ(write_file("/sys/bus/pci/drivers_probe", bdf), 0);
}

/* Bind @bdf to vfio-pci and claim it for user space through iommufd */
static int vfio_claim(const char *bdf)
{
	char path[256], name[64] = "";
	struct vfio_bind bind = { .argsz = sizeof(bind) };
	struct dirent *de;
	int devfd, ret;
	DIR *d;

	snprintf(path, sizeof(path), PCI_DEVS "%s/vfio-dev", bdf);
	d = opendir(path);
	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, "vfio", 4))
			snprintf(name, sizeof(name), "%s", de->d_name);
	if (d)
		closedir(d);
	if (!name[0])
		__FAIL("%s has no VFIO cdev (vfio-pci not bound?)", bdf);
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	devfd = open(path, O_RDWR);
	ASSERT_GE(devfd, 0);
	bind.iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_GE(bind.iommufd, 0);
	ret = ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind) ? -errno : 0;
	close(devfd);
	close(bind.iommufd);
	return ret;
}

TEST_TIMEOUT(rmrr_user_claim_needs_policy_and_optin, 180)
{
	struct test_policy *skel;
	struct bpf_link *link;
	char bdf[32];
	int ret;

	if (!find_edu(true, bdf, sizeof(bdf)))
		SKIP("no edu device with an RMRR: boot the 'policy' profile");
	pci_set_driver(bdf, "vfio-pci");

	/* firmware's 1:1 map wins without a policy */
	ASSERT_EQ(vfio_claim(bdf), -EINVAL);

	skel = policy(&link, 0, 0, IOMMU_POLICY_RESV_RELAX, 0, 0);
	set_dev_all(skel, bdf, 0, 0, IOMMU_POLICY_RESV_RELAX);
	ret = vfio_claim(bdf);
	ASSERT_EQ(skel->bss->seen_resv_reason, IOMMU_POLICY_RESV_OWNER_CLAIM);
	/* VT-d forces coherency if it has snoop control (ECAP.SC, bit 7) */
	ASSERT_EQ(skel->bss->seen_owner_flags,
		  IOMMU_POLICY_OWNER_F_DEVICE |
		  (intel_ecap() & (1ULL << 7) ? IOMMU_POLICY_OWNER_F_COHERENT : 0));
	if (allow_loosen()) {
		ASSERT_EQ(ret, 0);
		ASSERT_RECORD(bdf, "resv_direct", IOMMU_POLICY_RESV_RELAX, "applied");
	} else {
		ASSERT_EQ(ret, -EINVAL);
		ASSERT_RECORD(bdf, "resv_direct", IOMMU_POLICY_RESV_KEEP, "no_optin");
	}
	detach(link);
	pci_set_driver(bdf, NULL);
	test_policy__destroy(skel);
}

/* --- kernel checks of a policy at attach and update --------------------- */

/* Load and attach; the errno of whichever step the kernel refused, or 0 */
static int try_attach(struct test_policy *skel, struct bpf_link **link)
{
	if (test_policy__load(skel))
		return errno;
	*link = bpf_map__attach_struct_ops(skel->maps.test_ops);
	return *link ? 0 : errno;
}

TEST(attach_rejects_nonzero_flags)
{
	struct test_policy *skel = test_policy__open();
	struct bpf_link *link = NULL;
	unsigned long long flags = 1;

	ASSERT_TRUE(skel);
	set_ops_member(skel->obj, skel->maps.test_ops, "flags", &flags,
		       sizeof(flags));
	ASSERT_EQ(try_attach(skel, &link), EINVAL);
	ASSERT_STREQ(pol("state"), "disabled");
	test_policy__destroy(skel);
}

TEST(attach_rejects_bad_names)
{
	static const char * const names[] = { "", "bad name", "semi;colon" };

	for (int i = 0; i < 3; i++) {
		struct test_policy *skel = test_policy__open();
		struct bpf_link *link = NULL;
		char name[32] = {};

		ASSERT_TRUE(skel);
		strncpy(name, names[i], sizeof(name) - 1);
		set_ops_member(skel->obj, skel->maps.test_ops, "name", name,
			       sizeof(name));
		TH_LOG("name \"%s\"", names[i]);
		ASSERT_EQ(try_attach(skel, &link), EINVAL);
		ASSERT_STREQ(pol("state"), "disabled");
		test_policy__destroy(skel);
	}
}

TEST(attach_rejects_policy_without_decisions)
{
	struct test_nocb *skel = test_nocb__open_and_load();

	ASSERT_TRUE(skel);
	expect_attach_refused(skel->maps.nocb_ops, EINVAL);
	ASSERT_STREQ(pol("state"), "disabled");
	test_nocb__destroy(skel);
}

TEST(update_needs_cap_sys_admin)
{
	struct test_policy *a, *b;
	struct bpf_link *link;

	a = policy(&link, 0, 0, 0, 0, 0);
	b = load_policy("second");
	ASSERT_EQ(drop_cap_sys_admin(), 0);
	ASSERT_EQ(bpf_link__update_map(link, b->maps.test_ops), -EPERM);
	ASSERT_STREQ(pol("name"), "test");
	ASSERT_EQ(b->bss->init_calls, 0);
	detach(link);
	test_policy__destroy(b);
	test_policy__destroy(a);
}

/* --- every hook's out-of-range verdicts --------------------------------- */

TEST(record_keeps_out_of_range_verdict_clamped_to_s8)
{
	struct test_policy *skel;
	struct bpf_link *link;
	struct record r;

	skel = policy(&link, 0, 300, 0, 0, 0);
	MOCK_OK("add pt-v0");
	ASSERT_TRUE(verdict_of("pt-v0", "dma_mode", &r));
	ASSERT_EQ(r.verdict, 127);
	ASSERT_EQ(r.applied, IOMMU_POLICY_DMA_LAZY);
	ASSERT_STREQ(r.reason, "invalid");
	ASSERT_TRUE(state_is("disabled", 5000));
	ASSERT_STRSTR(pol("last_exit_msg"), "dma_mode(pt-v0) returned 300");
	bpf_link__destroy(link);
	test_policy__destroy(skel);
}

/*
 * Every class of out-of-range verdict (negative, just past the hook's max,
 * INT_MAX) from every hook: the kernel's choice is applied, the record
 * keeps the verdict (clamped to s8), it counts as invalid, and the policy
 * is detached naming the hook and the device.
 */
TEST_TIMEOUT(out_of_range_verdict_of_each_hook, 180)
{
	static const struct {
		const char *hook, *add, *cmd, *undo;
		int max, ret, applied;
	} hooks[] = {
		{ "dev_trust", "add %s", NULL, NULL, IOMMU_POLICY_TRUST_MAX, 0,
		  IOMMU_POLICY_TRUST_TRUSTED },
		{ "dma_mode", "add %s", NULL, NULL, IOMMU_POLICY_DMA_MAX, 0,
		  IOMMU_POLICY_DMA_LAZY },
		{ "resv_direct", "add %s resv_direct", "claim %s", NULL,
		  IOMMU_POLICY_RESV_MAX, -EINVAL, IOMMU_POLICY_RESV_KEEP },
		{ "pasid_attach", "add %s pasid_bits=8", "pasid %s 7 dma", "unpasid %s 7",
		  IOMMU_POLICY_PASID_MAX, 0, IOMMU_POLICY_PASID_ALLOW },
		{ "dma_owner", "add %s", "claim %s", "release %s", IOMMU_POLICY_OWNER_MAX, 0,
		  IOMMU_POLICY_OWNER_ALLOW },
	};

	for (int h = 0; h < 5; h++) {
		const int values[] = { -1, hooks[h].max, INT_MAX };

		for (int k = 0; k < 3; k++) {
			long long invalid = pol_ll("nr_invalid");
			int v[5] = {}, rec = values[k] > 127 ? 127 : values[k];
			struct test_policy *skel;
			struct bpf_link *link;
			struct record r;
			char dev[16];

			v[h] = values[k];
			snprintf(dev, sizeof(dev), "pt-v%d%d", h, k);
			TH_LOG("%s returns %d", hooks[h].hook, values[k]);
			skel = policy(&link, v[0], v[1], v[2], v[3], v[4]);
			MOCK_OK(hooks[h].add, dev);
			/* the kernel's choice is applied */
			if (hooks[h].cmd)
				ASSERT_EQ(mock(hooks[h].cmd, dev), hooks[h].ret);
			ASSERT_TRUE(verdict_of(dev, hooks[h].hook, &r));
			ASSERT_STREQ(r.reason, "invalid");
			ASSERT_EQ(r.applied, hooks[h].applied);
			ASSERT_EQ(r.verdict, rec);
			ASSERT_EQ(pol_ll("nr_invalid"), invalid + 1);
			ASSERT_TRUE(state_is("disabled", 5000));
			ASSERT_STREQ(pol("last_exit_hook"), hooks[h].hook);
			ASSERT_STREQ(pol("last_exit_device"), dev);
			if (hooks[h].undo)
				MOCK_OK(hooks[h].undo, dev);
			MOCK_OK("del %s", dev);
			bpf_link__destroy(link);
			test_policy__destroy(skel);
		}
	}
}

/* --- the fail-safe's races, made deterministic -------------------------- */

struct update_arg {
	struct bpf_link *link;
	struct bpf_map *map;
	int ret;
};

static void *do_update(void *arg)
{
	struct update_arg *u = arg;

	u->ret = bpf_link__update_map(u->link, u->map);
	return NULL;
}


/*
 * Policy a is held inside dma_mode() while b replaces it; a's verdict, once
 * released, is out of range. That error is a's: b stays attached and asked.
 */
TEST_TIMEOUT(late_error_of_replaced_policy_spares_successor, 120)
{
	long long invalid = pol_ll("nr_invalid"), errors = pol_ll("nr_errors");
	struct test_policy *a, *b;
	struct update_arg u;
	struct bpf_link *link;
	int status;
	pthread_t t;
	pid_t pid;

	/* a decision held open is slow: keep the bound out of this race */
	set_decision_timeout(0);
	a = load_policy("race_a");
	a->bss->def.dma = 77;
	a->bss->hold = 1;
	link = attach(a);
	b = load_policy("race_b");
	b->bss->def.dma = IOMMU_POLICY_DMA_STRICT;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(mock("add pt-q0") ? 1 : 0);
	ASSERT_TRUE(wait_for(&a->bss->held, 10000));

	u = (struct update_arg){ link, b->maps.test_ops, -1 };
	ASSERT_EQ(pthread_create(&t, NULL, do_update, &u), 0);
	/* b is published right after its init(); give it time to be */
	ASSERT_TRUE(wait_for((int *)&b->bss->init_calls, 10000));
	usleep(300000);
	a->bss->release = 1;
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_EQ(u.ret, 0);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	ASSERT_EQ(pol_ll("nr_invalid"), invalid + 1);
	ASSERT_EQ(pol_ll("nr_errors"), errors + 1);
	/* a pending detach would have run by now */
	usleep(500000);
	ASSERT_STREQ(pol("state"), "enabled");
	ASSERT_STREQ(pol("name"), "race_b");
	ASSERT_STREQ(pol("last_exit_kind"), "replaced");
	MOCK_OK("add pt-q1");
	ASSERT_STREQ(group_type("pt-q1"), "DMA");
	ASSERT_RECORD("pt-q1", "dma_mode", IOMMU_POLICY_DMA_STRICT, "applied");
	detach(link);
	test_policy__destroy(b);
	test_policy__destroy(a);
}

/*
 * The fail-safe detaches the link that attached the failing policy, after a
 * delay (a test-only knob). The same map attached again through a new link
 * meanwhile is another attachment: the fail-safe must not take it down.
 */
TEST_TIMEOUT(error_detach_spares_new_link_of_same_map, 120)
{
	struct bpf_link *l1, *l2 = NULL;
	struct test_policy *a;
	struct pollfd pfd;

	set_detach_delay(1000);
	a = load_policy("race_c");
	a->bss->def.dma = 77;
	l1 = attach(a);
	MOCK_OK("add pt-w0");
	a->bss->def.dma = IOMMU_POLICY_DMA_STRICT;

	/* attach again as soon as the kernel lets us */
	for (int i = 0; i < 300 && !l2; i++) {
		l2 = bpf_map__attach_struct_ops(a->maps.test_ops);
		if (!l2) {
			ASSERT_EQ(errno, EBUSY);
			usleep(10000);
		}
	}
	ASSERT_TRUE(l2);
	/* the first link got its EPOLLHUP */
	pfd = (struct pollfd){ .fd = bpf_link__fd(l1), .events = POLLIN };
	ASSERT_EQ(poll(&pfd, 1, 5000), 1);
	ASSERT_TRUE(pfd.revents & POLLHUP);
	/* ... and the second survives the delayed detach */
	usleep(1500000);
	set_detach_delay(0);
	ASSERT_STREQ(pol("state"), "enabled");
	ASSERT_STREQ(pol("name"), "race_c");
	pfd = (struct pollfd){ .fd = bpf_link__fd(l2), .events = POLLIN };
	ASSERT_EQ(poll(&pfd, 1, 0), 0);
	MOCK_OK("add pt-w1");
	ASSERT_RECORD("pt-w1", "dma_mode", IOMMU_POLICY_DMA_STRICT, "applied");
	bpf_link__destroy(l1);
	detach(l2);
	test_policy__destroy(a);
}

TEST(failed_replacement_keeps_exit_record)
{
	long long errors = pol_ll("nr_errors");
	char kind[64], msg[512];
	struct test_policy *a, *b;
	struct bpf_link *link;

	a = policy(&link, 0, 0, 0, 0, 0);
	snprintf(kind, sizeof(kind), "%s", pol("last_exit_kind"));
	snprintf(msg, sizeof(msg), "%s", pol("last_exit_msg"));
	b = load_policy("fails");
	b->bss->init_ret = -ENOSPC;
	ASSERT_EQ(bpf_link__update_map(link, b->maps.test_ops), -ENOSPC);
	/* nothing was attached or detached: the record is unchanged */
	ASSERT_STREQ(pol("state"), "enabled");
	ASSERT_STREQ(pol("name"), "test");
	ASSERT_STREQ(pol("last_exit_kind"), kind);
	ASSERT_STREQ(pol("last_exit_msg"), msg);
	ASSERT_EQ(pol_ll("nr_errors"), errors + 1);
	/* the failed program was told */
	ASSERT_EQ(b->bss->exit_kind, IOMMU_POLICY_EXIT_ERROR_INIT);
	ASSERT_EQ(a->bss->exit_kind, 0);
	detach(link);
	test_policy__destroy(b);
	test_policy__destroy(a);
}

/* --- boots with strict mode or lockdown on the command line ------------ */

/* VT-d caching mode (CAP bit 7): the driver forces strict invalidation */
static bool caching_mode(void)
{
	char buf[64];

	if (read_file("/sys/class/iommu/dmar0/intel-iommu/cap", buf, sizeof(buf)))
		return false;
	return strtoull(buf, NULL, 16) & (1ULL << 7);
}

static bool booted_locked_down(void)
{
	return cmdline_has("lockdown=integrity") ||
	       cmdline_has("lockdown=confidentiality");
}

/* What a loosening verdict gets in this boot */
static const char *loosening_reason(void)
{
	if (!allow_loosen())
		return "no_optin";
	return booted_locked_down() ? "lockdown" : "applied";
}

TEST_TIMEOUT(cmdline_forced_strict_is_never_relaxed, 180)
{
	const char *why = loosening_reason();
	struct test_policy *skel;
	struct bpf_link *link;
	char bdf[32], path[256];

	if (!caching_mode())
		SKIP("intel-iommu is not in caching mode: boot the policy-cm-lockdown profile");
	if (!find_edu(false, bdf, sizeof(bdf)))
		SKIP("no edu device");
	/* the kernel chose strict by itself */
	ASSERT_STREQ(pci_group_type(bdf), "DMA");

	skel = policy(&link, 0, 0, 0, 0, 0);
	ASSERT_STREQ(pol("allow_loosen"), why);
	set_dev_all(skel, bdf, 0, IOMMU_POLICY_DMA_LAZY, 0);
	pci_reprobe(bdf);
	ASSERT_EQ(skel->bss->seen_dma_proposed, IOMMU_POLICY_DMA_STRICT);
	ASSERT_EQ(skel->bss->seen_dma_flags & IOMMU_POLICY_DMA_F_STRICT,
		  IOMMU_POLICY_DMA_F_STRICT);
	/* refused whatever the opt-in: reason driver */
	ASSERT_STREQ(pci_group_type(bdf), "DMA");
	ASSERT_RECORD(bdf, "dma_mode", IOMMU_POLICY_DMA_STRICT, "driver");
	snprintf(path, sizeof(path), PCI_DEVS "%s/iommu_group/type", bdf);
	ASSERT_EQ(write_file(path, "auto"), 0);
	ASSERT_STREQ(pci_group_type(bdf), "DMA");
	ASSERT_RECORD(bdf, "dma_mode", IOMMU_POLICY_DMA_STRICT, "driver");

	/* identity is not lazy invalidation: it is loosening */
	set_dev_all(skel, bdf, 0, IOMMU_POLICY_DMA_IDENTITY, 0);
	ASSERT_EQ(write_file(path, "auto"), 0);
	if (!strcmp(why, "applied")) {
		ASSERT_STREQ(pci_group_type(bdf), "identity");
		ASSERT_RECORD(bdf, "dma_mode", IOMMU_POLICY_DMA_IDENTITY, why);
	} else {
		ASSERT_STREQ(pci_group_type(bdf), "DMA");
		ASSERT_RECORD(bdf, "dma_mode", IOMMU_POLICY_DMA_STRICT, why);
	}
	/* reading sysfs never asks the LSM: one notice, from the first ask */
	for (int i = 0; i < 3; i++)
		ASSERT_STREQ(pol("allow_loosen"), why);
	ASSERT_EQ(kmsg_count(LOCKDOWN_NOTICE, NULL),
		  !strcmp(why, "lockdown") ? 1 : 0);
	detach(link);
	test_policy__destroy(skel);
}

TEST_TIMEOUT(cmdline_strict_makes_lazy_loosening, 180)
{
	const char *why = loosening_reason();
	struct test_policy *skel;
	struct bpf_link *link;
	char bdf[32];

	if (!cmdline_has("iommu.strict=1"))
		SKIP("booted without iommu.strict=1: boot a policy-strict profile");
	if (!find_edu(false, bdf, sizeof(bdf)))
		SKIP("no edu device");
	ASSERT_STREQ(pci_group_type(bdf), "DMA");

	skel = policy(&link, 0, 0, 0, 0, 0);
	set_dev_all(skel, bdf, 0, IOMMU_POLICY_DMA_LAZY, 0);
	pci_reprobe(bdf);
	/* the administrator's strict, not the driver's */
	ASSERT_EQ(skel->bss->seen_dma_proposed, IOMMU_POLICY_DMA_STRICT);
	ASSERT_EQ(skel->bss->seen_dma_flags & IOMMU_POLICY_DMA_F_STRICT, 0);
	if (!strcmp(why, "applied")) {
		ASSERT_STREQ(pci_group_type(bdf), "DMA-FQ");
		ASSERT_RECORD(bdf, "dma_mode", IOMMU_POLICY_DMA_LAZY, why);
	} else {
		ASSERT_STREQ(pci_group_type(bdf), "DMA");
		ASSERT_RECORD(bdf, "dma_mode", IOMMU_POLICY_DMA_STRICT, why);
	}
	ASSERT_STREQ(pol("allow_loosen"), why);
	ASSERT_EQ(kmsg_count(LOCKDOWN_NOTICE, NULL),
		  !strcmp(why, "lockdown") ? 1 : 0);
	detach(link);
	pci_reprobe(bdf);
	ASSERT_STREQ(pci_group_type(bdf), "DMA");
	test_policy__destroy(skel);
}

/* --- lockdown at run time: keep last, it cannot be undone ---------------- */

/* Each loosening hook under the current lockdown level; @tag names devices */
static void expect_loosening_refused(struct test_policy *skel, const char *tag)
{
	char dev[32];

	/* dev_trust: trusting a device firmware calls untrusted */
	skel->bss->def.trust = IOMMU_POLICY_TRUST_TRUSTED;
	snprintf(dev, sizeof(dev), "pt-%s-t", tag);
	MOCK_OK("add %s untrusted", dev);
	ASSERT_STREQ(group_type(dev), "DMA");
	ASSERT_RECORD(dev, "dev_trust", IOMMU_POLICY_TRUST_UNTRUSTED, "lockdown");
	skel->bss->def.trust = 0;

	/* dma_mode: identity for a trusted device, where the kernel chose lazy */
	skel->bss->def.dma = IOMMU_POLICY_DMA_IDENTITY;
	ASSERT_EQ(set_group_type("pt-l0", "auto"), 0);
	ASSERT_STREQ(group_type("pt-l0"), "DMA-FQ");
	ASSERT_RECORD("pt-l0", "dma_mode", IOMMU_POLICY_DMA_LAZY, "lockdown");

	/* resv_direct: user ownership without the firmware's 1:1 map */
	skel->bss->def.resv = IOMMU_POLICY_RESV_RELAX;
	snprintf(dev, sizeof(dev), "pt-%s-r", tag);
	MOCK_OK("add %s resv_direct", dev);
	ASSERT_EQ(mock("claim %s", dev), -EINVAL);
	ASSERT_RECORD(dev, "resv_direct", IOMMU_POLICY_RESV_KEEP, "lockdown");
	skel->bss->def.resv = 0;

	/* tightening still works */
	skel->bss->def.dma = IOMMU_POLICY_DMA_STRICT;
	ASSERT_EQ(set_group_type("pt-l0", "auto"), 0);
	ASSERT_STREQ(group_type("pt-l0"), "DMA");
	ASSERT_RECORD("pt-l0", "dma_mode", IOMMU_POLICY_DMA_STRICT, "applied");
}

TEST(lockdown_refuses_loosening)
{
	struct test_policy *skel;
	struct bpf_link *link;
	char buf[128];

	if (read_file(LOCKDOWN, buf, sizeof(buf)))
		SKIP("no securityfs lockdown file: kernel without lockdown LSM");
	if (!allow_loosen())
		SKIP("booted without iommu_policy.allow_loosen=1: nothing to refuse");
	if (booted_locked_down())
		SKIP("booted locked down: the cmdline_ tests cover this boot");
	ASSERT_STREQ(pol("allow_loosen"), "applied");

	/* the mock's control file closes to new opens under lockdown */
	mock_fd = open(MOCK_CTL, O_WRONLY);
	ASSERT_GE(mock_fd, 0);
	skel = policy(&link, 0, IOMMU_POLICY_DMA_STRICT, 0, 0, 0);
	MOCK_OK("add pt-l0");
	ASSERT_STREQ(group_type("pt-l0"), "DMA");

	ASSERT_EQ(write_file(LOCKDOWN, "integrity"), 0);
	/* reading sysfs does not ask the LSM, so it does not know yet */
	ASSERT_STREQ(pol("allow_loosen"), "applied");
	ASSERT_EQ(kmsg_count(LOCKDOWN_NOTICE, NULL), 0);
	expect_loosening_refused(skel, "li");
	ASSERT_STREQ(pol("allow_loosen"), "lockdown");

	ASSERT_EQ(write_file(LOCKDOWN, "confidentiality"), 0);
	expect_loosening_refused(skel, "lc");

	/* asked once, then remembered: one notice, whatever we read */
	for (int i = 0; i < 3; i++)
		ASSERT_STREQ(pol("allow_loosen"), "lockdown");
	ASSERT_EQ(kmsg_count(LOCKDOWN_NOTICE, NULL), 1);
	/* refused twice for pt-l0's dma_mode, logged once */
	ASSERT_EQ(kmsg_count("pt-l0", "dma_mode verdict 1 clamped"), 1);
	detach(link);
	test_policy__destroy(skel);
}

__attribute__((constructor(101))) static void setup(void)
{
	libbpf_set_print(libbpf_print);
}
