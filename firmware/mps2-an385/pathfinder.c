/* pathfinder.c - the reference firmware: the Mars Pathfinder task set of
 * the Go model's `pathfinder` profile (firmware/pathfinder.go), same
 * priorities, periods, offsets and execution times, on the kernel, driven
 * by the hilchaos agent. The mutex protocol's default is chosen at build
 * time (MUTEX=none|inherit|ceiling); `CF mutex` changes it until the next
 * reset. */
#include "hc_agent.h"
#include "kernel.h"

#ifndef DEFAULT_MUTEX
#define DEFAULT_MUTEX PROTO_INHERIT
#endif

#define MS(x) ((x) * 1000u)
#ifndef WDMS
#define WDMS MS(200)
#endif
#define C(best, worst) {SEG_COMPUTE, 0, (best), (worst)}
#define L(l) {SEG_LOCK, (l), 0, 0}
#define U(l) {SEG_UNLOCK, (l), 0, 0}

enum { BUS };

static const struct seg bc_sched[] = {C(500, MS(1))};
static const struct seg bc_dist[] = {C(MS(1), MS(2)), L(BUS), C(MS(1), MS(2)), U(BUS), C(500, MS(1))};
static const struct seg comm_tx[] = {C(MS(10), MS(20))};
static const struct seg comm_rx[] = {C(MS(10), MS(25))};
static const struct seg imaging[] = {C(MS(60), MS(100))};
static const struct seg asi_met[] = {C(MS(1), MS(1)), L(BUS), C(MS(3), MS(6)), U(BUS), C(MS(1), MS(1))};

#define N(a) (int)(sizeof a / sizeof a[0])

static const struct task_spec tasks[] = {
	{"bc_sched", 10, MS(125), MS(125), 0, bc_sched, N(bc_sched)},
	{"bc_dist", 9, MS(125), MS(120), MS(2), bc_dist, N(bc_dist)},
	{"comm_tx", 6, MS(125), MS(125), 0, comm_tx, N(comm_tx)},
	{"comm_rx", 5, MS(250), MS(250), 0, comm_rx, N(comm_rx)},
	{"imaging", 4, MS(1000), MS(1000), MS(125), imaging, N(imaging)},
	{"asi_met", 2, MS(250), MS(250), MS(90), asi_met, N(asi_met)},
};

static const char *const lock_names[] = {"bus"};

static const struct profile pathfinder = {
	"pathfinder-c", "1.0.0", tasks, N(tasks), lock_names, 1, WDMS, 0, 1,
};

/* ---- the GNU build id, from the linker script's symbols ---- */

extern const uint8_t __build_id_start[], __build_id_end[];
static char build_hex[2 * 32 + 1];

static void build_id(void)
{
	static const char hex[] = "0123456789abcdef";
	/* note header: namesz, descsz, type, "GNU\0", then descsz bytes */
	const uint8_t *p = __build_id_start;
	uint32_t descsz = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
	if (__build_id_end - __build_id_start < 16 || descsz > 32) {
		build_hex[0] = '0';
		return;
	}
	for (uint32_t i = 0; i < descsz; i++) {
		build_hex[2 * i] = hex[p[16 + i] >> 4];
		build_hex[2 * i + 1] = hex[p[16 + i] & 15];
	}
}

/* ---- the agent's callbacks ---- */

void hc_app_table(void) { k_table(); }

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

const char *hc_app_config(const char *key, const char *value)
{
	if (k_active())
		return "busy";
	if (streq(key, "trace"))
		return 0;
	if (streq(key, "mutex")) {
		if (streq(value, "none"))
			k_proto = PROTO_NONE;
		else if (streq(value, "inherit"))
			k_proto = PROTO_INHERIT;
		else if (streq(value, "ceiling"))
			k_proto = PROTO_CEILING;
		else
			return "bad_value";
		return 0;
	}
	return "bad_key";
}

const char *hc_app_fault(const struct hc_fault *f, uint64_t at_us, int now) { return k_fault(f, at_us, now); }

const char *hc_app_check_go(uint64_t duration_us)
{
	if (k_active())
		return "busy";
	if (duration_us > (1ull << 50))
		return "bad_value";
	return 0;
}

void hc_app_go(uint64_t duration_us) { k_go(duration_us); }

void hc_app_stop(void) { k_stop(); }

int main(void)
{
	static struct hc_ident id = {"pathfinder-c", "1.0.0", build_hex};
	board_init();
	build_id();
	k_init(&pathfinder, DEFAULT_MUTEX);
	hc_init(&id);
	k_start();
}
