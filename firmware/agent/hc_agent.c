/* hc_agent.c - the hilchaos board agent (see hc_agent.h, docs/AGENT.md and
 * docs/PROTOCOL.md). Portable C99: no heap, no C library, no floating point.
 */
#include "hc_agent.h"
#include "hc_port.h"

/* ---- event vocabulary ---- */

static const char hc_kind_code[HC_EV_COUNT][2] = {
	{'?', '?'}, {'R', 'L'}, {'S', 'T'}, {'E', 'N'}, {'B', 'L'}, {'L', 'K'},
	{'U', 'L'}, {'C', 'S'}, {'D', 'M'}, {'W', 'K'}, {'W', 'X'}, {'F', 'B'},
	{'F', 'E'}, {'D', 'R'}, {'P', 'R'}, {'G', 'O'},
};

/* The lowest trace level at which each kind is sent (PROTOCOL.md: level 1
 * sends everything but ST, CS and PR). */
static const uint8_t hc_kind_level[HC_EV_COUNT] = {
	3, 1, 2, 1, 1, 1, 1, 2, 0, 1, 0, 0, 0, 0, 2, 0,
};

/* The black box records every event of level 1 or less, whatever the trace
 * level, so a post-mortem shows releases, ends, locks and kicks. */
#define HC_BB_LEVEL 1

/* ---- state kept across resets (.noinit) ---- */

#define HC_MAGIC 0x68634231u /* "hcB1" */

enum { HC_R_NONE, HC_R_POR, HC_R_WDT, HC_R_SW, HC_R_CRASH, HC_R_EXT };
static const char *const hc_reason_name[] = {"EXT", "POR", "WDT", "SW", "CRASH", "EXT"};

struct hc_noinit {
	uint32_t magic;
	uint32_t boots;
	uint32_t pending; /* reason of the next reset, set just before it */
	uint32_t bb_next, bb_len;
	struct hc_event bb[HC_BB_SIZE];
	uint32_t magic2; /* == ~magic: the area was written whole */
};

static HC_NOINIT struct hc_noinit hc_ni;

/* ---- ordinary RAM ---- */

static uint32_t hc_dn_seq; /* the last DN, repeated before the AK of PG */
static uint64_t hc_dn_time;
static int hc_dn_valid;
static uint32_t hc_reason;
static int hc_trace = 1;
static uint32_t hc_seq;
static uint32_t hc_dropped;

static uint8_t hc_tx[HC_TX_SIZE];
static volatile uint32_t hc_tx_head, hc_tx_tail; /* free-running */
#if defined(__GNUC__)
#define HC_BARRIER() __asm__ __volatile__("" ::: "memory")
#else
#define HC_BARRIER() ((void)0)
#endif

static char hc_rx[128];
static uint32_t hc_rx_len;
static int hc_rx_in; /* inside a frame */
static int hc_rx_skip; /* too long: skip to the next '\n' or '$' */

struct hc_answered {
	uint32_t id;
	uint16_t crc; /* of the command line: a retry is byte-identical */
	uint8_t valid;
	const char *reason; /* 0 = AK */
};
static struct hc_answered hc_ids[HC_ID_CACHE];
static uint32_t hc_ids_next;

/* ---- small helpers ---- */

static void hc_copy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	while (n--)
		*d++ = *s++;
}

static int hc_streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

/* CRC-16/CCITT-FALSE, table-driven: the bitwise loop cost about 2,000
 * instructions per frame on the Cortex-M3, most of an event's cost. */
static const uint16_t hc_crc_table[256] = {
	0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50A5, 0x60C6, 0x70E7,
	0x8108, 0x9129, 0xA14A, 0xB16B, 0xC18C, 0xD1AD, 0xE1CE, 0xF1EF,
	0x1231, 0x0210, 0x3273, 0x2252, 0x52B5, 0x4294, 0x72F7, 0x62D6,
	0x9339, 0x8318, 0xB37B, 0xA35A, 0xD3BD, 0xC39C, 0xF3FF, 0xE3DE,
	0x2462, 0x3443, 0x0420, 0x1401, 0x64E6, 0x74C7, 0x44A4, 0x5485,
	0xA56A, 0xB54B, 0x8528, 0x9509, 0xE5EE, 0xF5CF, 0xC5AC, 0xD58D,
	0x3653, 0x2672, 0x1611, 0x0630, 0x76D7, 0x66F6, 0x5695, 0x46B4,
	0xB75B, 0xA77A, 0x9719, 0x8738, 0xF7DF, 0xE7FE, 0xD79D, 0xC7BC,
	0x48C4, 0x58E5, 0x6886, 0x78A7, 0x0840, 0x1861, 0x2802, 0x3823,
	0xC9CC, 0xD9ED, 0xE98E, 0xF9AF, 0x8948, 0x9969, 0xA90A, 0xB92B,
	0x5AF5, 0x4AD4, 0x7AB7, 0x6A96, 0x1A71, 0x0A50, 0x3A33, 0x2A12,
	0xDBFD, 0xCBDC, 0xFBBF, 0xEB9E, 0x9B79, 0x8B58, 0xBB3B, 0xAB1A,
	0x6CA6, 0x7C87, 0x4CE4, 0x5CC5, 0x2C22, 0x3C03, 0x0C60, 0x1C41,
	0xEDAE, 0xFD8F, 0xCDEC, 0xDDCD, 0xAD2A, 0xBD0B, 0x8D68, 0x9D49,
	0x7E97, 0x6EB6, 0x5ED5, 0x4EF4, 0x3E13, 0x2E32, 0x1E51, 0x0E70,
	0xFF9F, 0xEFBE, 0xDFDD, 0xCFFC, 0xBF1B, 0xAF3A, 0x9F59, 0x8F78,
	0x9188, 0x81A9, 0xB1CA, 0xA1EB, 0xD10C, 0xC12D, 0xF14E, 0xE16F,
	0x1080, 0x00A1, 0x30C2, 0x20E3, 0x5004, 0x4025, 0x7046, 0x6067,
	0x83B9, 0x9398, 0xA3FB, 0xB3DA, 0xC33D, 0xD31C, 0xE37F, 0xF35E,
	0x02B1, 0x1290, 0x22F3, 0x32D2, 0x4235, 0x5214, 0x6277, 0x7256,
	0xB5EA, 0xA5CB, 0x95A8, 0x8589, 0xF56E, 0xE54F, 0xD52C, 0xC50D,
	0x34E2, 0x24C3, 0x14A0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405,
	0xA7DB, 0xB7FA, 0x8799, 0x97B8, 0xE75F, 0xF77E, 0xC71D, 0xD73C,
	0x26D3, 0x36F2, 0x0691, 0x16B0, 0x6657, 0x7676, 0x4615, 0x5634,
	0xD94C, 0xC96D, 0xF90E, 0xE92F, 0x99C8, 0x89E9, 0xB98A, 0xA9AB,
	0x5844, 0x4865, 0x7806, 0x6827, 0x18C0, 0x08E1, 0x3882, 0x28A3,
	0xCB7D, 0xDB5C, 0xEB3F, 0xFB1E, 0x8BF9, 0x9BD8, 0xABBB, 0xBB9A,
	0x4A75, 0x5A54, 0x6A37, 0x7A16, 0x0AF1, 0x1AD0, 0x2AB3, 0x3A92,
	0xFD2E, 0xED0F, 0xDD6C, 0xCD4D, 0xBDAA, 0xAD8B, 0x9DE8, 0x8DC9,
	0x7C26, 0x6C07, 0x5C64, 0x4C45, 0x3CA2, 0x2C83, 0x1CE0, 0x0CC1,
	0xEF1F, 0xFF3E, 0xCF5D, 0xDF7C, 0xAF9B, 0xBFBA, 0x8FD9, 0x9FF8,
	0x6E17, 0x7E36, 0x4E55, 0x5E74, 0x2E93, 0x3EB2, 0x0ED1, 0x1EF0,
};

uint16_t hc_crc16(const uint8_t *p, size_t n)
{
	uint16_t crc = 0xFFFF;
	while (n--)
		crc = (uint16_t)(crc << 8) ^ hc_crc_table[((crc >> 8) ^ *p++) & 0xFF];
	return crc;
}

/* A frame under construction: body at b[1..n]. */
struct hc_buf {
	char b[128];
	size_t n; /* bytes used, including the leading '$' */
	int over;
};

static void hc_b_init(struct hc_buf *w, char t0, char t1)
{
	w->b[0] = '$';
	w->b[1] = t0;
	w->b[2] = t1;
	w->n = 3;
	w->over = 0;
}

static void hc_b_ch(struct hc_buf *w, char c)
{
	if (w->n < sizeof w->b - 6)
		w->b[w->n++] = c;
	else
		w->over = 1;
}

/* A name field: characters outside [A-Za-z0-9_.-] become '_'. */
static void hc_b_name(struct hc_buf *w, const char *s)
{
	hc_b_ch(w, ',');
	if (!s || !*s) {
		hc_b_ch(w, '_');
		return;
	}
	for (; *s; s++) {
		char c = *s;
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			 c == '_' || c == '.' || c == '-';
		hc_b_ch(w, ok ? c : '_');
	}
}

static void hc_b_u64(struct hc_buf *w, uint64_t v)
{
	char d[20];
	int n = 0;
	hc_b_ch(w, ',');
	/* 32-bit divisions while they suffice: Cortex-M3 has no 64-bit divide */
	while (v > 0xFFFFFFFFu) {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	}
	uint32_t v32 = (uint32_t)v;
	do {
		d[n++] = (char)('0' + v32 % 10);
		v32 /= 10;
	} while (v32);
	while (n)
		hc_b_ch(w, d[--n]);
}

static void hc_b_i64(struct hc_buf *w, int64_t v)
{
	if (v >= 0) {
		hc_b_u64(w, (uint64_t)v);
		return;
	}
	size_t at = w->n;
	hc_b_u64(w, (uint64_t)(-(v + 1)) + 1); /* writes ",digits" */
	if (w->over)
		return;
	/* make room for the sign: ",digits" -> ",-digits" */
	if (w->n >= sizeof w->b - 6) {
		w->over = 1;
		return;
	}
	for (size_t i = w->n; i > at + 1; i--)
		w->b[i] = w->b[i - 1];
	w->b[at + 1] = '-';
	w->n++;
}

static const char hc_hex[] = "0123456789ABCDEF";

/* Close the frame: '*', CRC, '\n'. Returns the length or 0. */
static size_t hc_b_end(struct hc_buf *w)
{
	if (w->over)
		return 0;
	uint16_t crc = hc_crc16((const uint8_t *)w->b + 1, w->n - 1);
	w->b[w->n++] = '*';
	w->b[w->n++] = hc_hex[(crc >> 12) & 15];
	w->b[w->n++] = hc_hex[(crc >> 8) & 15];
	w->b[w->n++] = hc_hex[(crc >> 4) & 15];
	w->b[w->n++] = hc_hex[crc & 15];
	w->b[w->n++] = '\n';
	return w->n;
}

size_t hc_frame(char *out, const char *body, size_t n)
{
	if (n + 7 > 128)
		return 0;
	out[0] = '$';
	hc_copy(out + 1, body, n);
	uint16_t crc = hc_crc16((const uint8_t *)body, n);
	out[n + 1] = '*';
	out[n + 2] = hc_hex[(crc >> 12) & 15];
	out[n + 3] = hc_hex[(crc >> 8) & 15];
	out[n + 4] = hc_hex[(crc >> 4) & 15];
	out[n + 5] = hc_hex[crc & 15];
	out[n + 6] = '\n';
	return n + 7;
}

static void hc_b_event_body(struct hc_buf *w, int bx, uint32_t seq, const struct hc_event *e)
{
	uint8_t k = e->kind < HC_EV_COUNT ? e->kind : 0;
	hc_b_init(w, bx ? 'B' : 'E', bx ? 'X' : 'V');
	hc_b_u64(w, seq);
	hc_b_u64(w, e->time_us);
	hc_b_ch(w, ',');
	hc_b_ch(w, hc_kind_code[k][0]);
	hc_b_ch(w, hc_kind_code[k][1]);
	/* omit arg when 0; omit task too when it is -1 and arg is 0 */
	if (e->arg != 0 || e->task != -1)
		hc_b_i64(w, e->task);
	if (e->arg != 0)
		hc_b_i64(w, e->arg);
}

static size_t hc_b_event(struct hc_buf *w, int bx, uint32_t seq, const struct hc_event *e)
{
	hc_b_event_body(w, bx, seq, e);
	return hc_b_end(w);
}

size_t hc_encode_event(char *out, int bx, uint32_t seq, const struct hc_event *e)
{
	struct hc_buf w;
	size_t n = hc_b_event(&w, bx, seq, e);
	hc_copy(out, w.b, n);
	return n;
}

/* ---- transmit ring ---- */

/* Queue a whole frame or nothing. Called with the critical section held. */
static int hc_push(const char *p, size_t n)
{
	if (n == 0)
		return 0;
	uint32_t used = hc_tx_head - hc_tx_tail;
	if (HC_TX_SIZE - used < n)
		return 0;
	uint32_t h = hc_tx_head;
	for (size_t i = 0; i < n; i++)
		hc_tx[(h + i) & (HC_TX_SIZE - 1)] = (uint8_t)p[i];
	HC_BARRIER(); /* the bytes before the head that publishes them */
	hc_tx_head = h + (uint32_t)n;
	hc_port_tx_kick();
	return 1;
}

/* One consumer at a time (the UART's TX interrupt, or a polling loop in
 * the idle task); no critical section: only the consumer moves the tail,
 * and the producers publish the head after the bytes. So a polling idle
 * task never holds interrupts off, and never delays a timer interrupt by
 * an amount that depends on when the host reads. */
int hc_tx_pull(uint8_t *b)
{
	uint32_t t = hc_tx_tail;
	if (hc_tx_head == t)
		return 0;
	HC_BARRIER();
	*b = hc_tx[t & (HC_TX_SIZE - 1)];
	HC_BARRIER();
	hc_tx_tail = t + 1;
	return 1;
}

/* Send what is queued with polled writes (interrupts may be off). */
static void hc_flush_polled(void)
{
	uint8_t b;
	while (hc_tx_head != hc_tx_tail) {
		b = hc_tx[hc_tx_tail & (HC_TX_SIZE - 1)];
		hc_tx_tail++;
		hc_port_tx_poll(b);
	}
}

/* A DR event with the drop count, when there is one and it fits. */
static void hc_flush_dropped(void)
{
	if (hc_dropped == 0)
		return;
	struct hc_event e = {hc_port_now_us(), hc_dropped, -1, HC_EV_DR, 0};
	struct hc_buf w;
	if (hc_push(w.b, hc_b_event(&w, 0, hc_seq, &e))) {
		hc_seq++;
		hc_dropped = 0;
	}
}

/* An unnumbered frame (BT, TK, AK, ...): after a pending DR; counted as a
 * drop when it does not fit. */
static void hc_send(struct hc_buf *w)
{
	size_t n = hc_b_end(w);
	uint32_t s = hc_port_enter();
	hc_flush_dropped();
	if (!hc_push(w->b, n))
		hc_dropped++;
	hc_port_exit(s);
}

static void hc_bb_record(const struct hc_event *e)
{
	hc_ni.bb[hc_ni.bb_next] = *e;
	hc_ni.bb_next = (hc_ni.bb_next + 1) % HC_BB_SIZE;
	if (hc_ni.bb_len < HC_BB_SIZE)
		hc_ni.bb_len++;
}

/* The time is read inside the critical section: read before it, an
 * interrupt's events could be queued in between with later times. */
void hc_event(uint8_t kind, int32_t task, int64_t arg)
{
	uint32_t s = hc_port_enter();
	hc_event_at(kind, task, arg, hc_port_now_us());
	hc_port_exit(s);
}

void hc_event_at(uint8_t kind, int32_t task, int64_t arg, uint64_t time_us)
{
	if (kind == 0 || kind >= HC_EV_COUNT)
		return;
	uint32_t s = hc_port_enter();
	struct hc_event e = {time_us, arg, (int16_t)task, kind, 0};
	if (hc_kind_level[kind] <= HC_BB_LEVEL)
		hc_bb_record(&e);
	if (hc_kind_level[kind] <= hc_trace) {
		struct hc_buf w;
		hc_flush_dropped();
		if (hc_push(w.b, hc_b_event(&w, 0, hc_seq, &e)))
			hc_seq++;
		else
			hc_dropped++;
	}
	hc_port_exit(s);
}

void hc_summary(int32_t task, uint32_t jobs, int64_t max_resp_us, uint32_t misses)
{
	uint32_t s = hc_port_enter();
	hc_summary_at(task, jobs, max_resp_us, misses, hc_port_now_us());
	hc_port_exit(s);
}

void hc_summary_at(int32_t task, uint32_t jobs, int64_t max_resp_us, uint32_t misses, uint64_t time_us)
{
	uint32_t s = hc_port_enter();
	struct hc_buf w;
	hc_flush_dropped();
	hc_b_init(&w, 'S', 'M');
	hc_b_u64(&w, hc_seq);
	hc_b_u64(&w, time_us);
	hc_b_i64(&w, task);
	hc_b_u64(&w, jobs);
	hc_b_i64(&w, max_resp_us);
	hc_b_u64(&w, misses);
	if (hc_push(w.b, hc_b_end(&w)))
		hc_seq++;
	else
		hc_dropped++;
	hc_port_exit(s);
}

static void hc_send_dn(void)
{
	struct hc_buf w;
	hc_b_init(&w, 'D', 'N');
	hc_b_u64(&w, hc_dn_seq);
	hc_b_u64(&w, hc_dn_time);
	hc_send(&w);
}

void hc_done(void)
{
	uint32_t s = hc_port_enter();
	hc_done_at(hc_port_now_us());
	hc_port_exit(s);
}

void hc_done_at(uint64_t time_us)
{
	uint32_t s = hc_port_enter();
	hc_flush_dropped();
	hc_dn_seq = hc_seq;
	hc_dn_time = time_us;
	hc_dn_valid = 1;
	hc_send_dn();
	hc_port_exit(s);
}

void hc_send_task(int idx, const char *name, int prio, uint64_t period_us,
		  uint64_t deadline_us, uint64_t offset_us, uint64_t wcet_us)
{
	struct hc_buf w;
	hc_b_init(&w, 'T', 'K');
	hc_b_i64(&w, idx);
	hc_b_name(&w, name);
	hc_b_i64(&w, prio);
	hc_b_u64(&w, period_us);
	hc_b_u64(&w, deadline_us);
	hc_b_u64(&w, offset_us);
	hc_b_u64(&w, wcet_us);
	hc_send(&w);
}

void hc_send_lock(int idx, const char *name, const char *protocol, int ceiling)
{
	struct hc_buf w;
	hc_b_init(&w, 'L', 'K');
	hc_b_i64(&w, idx);
	hc_b_name(&w, name);
	hc_b_name(&w, protocol);
	hc_b_i64(&w, ceiling);
	hc_send(&w);
}

void hc_send_table_end(int ntasks, int nlocks)
{
	struct hc_buf w;
	hc_b_init(&w, 'T', 'E');
	hc_b_i64(&w, ntasks);
	hc_b_i64(&w, nlocks);
	hc_send(&w);
}

static const struct hc_ident *hc_id;

static void hc_send_boot(void)
{
	struct hc_buf w;
	hc_b_init(&w, 'B', 'T');
	hc_b_name(&w, hc_id->name);
	hc_b_name(&w, hc_id->version);
	hc_b_name(&w, hc_id->build);
	hc_b_name(&w, hc_boot_reason());
	hc_b_u64(&w, hc_ni.boots);
	hc_b_u64(&w, hc_port_now_us());
	if (HC_PROTO_VERSION >= 2)
		hc_b_u64(&w, HC_PROTO_VERSION);
	hc_send(&w);
	hc_app_table();
}

void hc_init(const struct hc_ident *id)
{
	hc_id = id;
	if (hc_ni.magic != HC_MAGIC || hc_ni.magic2 != ~HC_MAGIC || hc_ni.bb_next >= HC_BB_SIZE ||
	    hc_ni.bb_len > HC_BB_SIZE || hc_ni.pending > HC_R_EXT) {
		hc_ni.magic = HC_MAGIC;
		hc_ni.magic2 = ~HC_MAGIC;
		hc_ni.boots = 1;
		hc_ni.bb_next = hc_ni.bb_len = 0;
		hc_reason = HC_R_POR;
	} else {
		/* the black box goes on: until the next GO it holds the events
		 * before this reset (PROTOCOL.md 2.8) */
		hc_ni.boots++;
		hc_reason = hc_ni.pending ? hc_ni.pending : HC_R_EXT;
	}
	hc_ni.pending = HC_R_NONE;
	hc_seq = 0;
	hc_dropped = 0;
	hc_send_boot();
}

int hc_trace_level(void) { return hc_trace; }
const char *hc_boot_reason(void) { return hc_reason_name[hc_reason <= HC_R_EXT ? hc_reason : HC_R_EXT]; }
uint32_t hc_boot_count(void) { return hc_ni.boots; }

void hc_reset(const char *reason)
{
	(void)hc_port_enter();
	hc_ni.pending = hc_streq(reason, "WDT") ? HC_R_WDT : hc_streq(reason, "CRASH") ? HC_R_CRASH : HC_R_SW;
	hc_flush_polled();
	hc_port_reset();
}

void hc_watchdog_expired(void)
{
	hc_event(HC_EV_WX, -1, 0);
	uint32_t s = hc_port_enter();
	hc_ni.pending = HC_R_WDT;
	hc_flush_polled();
	hc_port_exit(s);
}

void hc_crash(uint32_t pc, uint32_t lr, uint32_t xpsr, uint32_t cfsr, int32_t task)
{
	(void)hc_port_enter();
	struct hc_buf w;
	hc_b_init(&w, 'C', 'R');
	hc_b_u64(&w, hc_port_now_us());
	hc_b_i64(&w, task);
	hc_b_u64(&w, pc);
	hc_b_u64(&w, lr);
	hc_b_u64(&w, xpsr);
	hc_b_u64(&w, cfsr);
	size_t n = hc_b_end(&w);
	if (!hc_push(w.b, n)) {
		hc_flush_polled();
		(void)hc_push(w.b, n);
	}
	hc_reset("CRASH");
}

/* ---- receiving commands ---- */

static int hc_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int hc_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		uint64_t d = (uint64_t)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*out = v;
	return 1;
}

static int hc_parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;
	if (!hc_parse_u64(s, &v) || v > 0xFFFFFFFFu)
		return 0;
	*out = (uint32_t)v;
	return 1;
}

static int hc_parse_i32(const char *s, int32_t *out)
{
	int neg = *s == '-';
	uint64_t v;
	if (!hc_parse_u64(s + neg, &v) || v > (neg ? 0x80000000u : 0x7FFFFFFFu))
		return 0;
	*out = neg ? (int32_t)(0 - v) : (int32_t)v;
	return 1;
}

static void hc_answer(uint32_t id, const char *reason)
{
	struct hc_buf w;
	if (reason) {
		hc_b_init(&w, 'N', 'K');
		hc_b_u64(&w, id);
		hc_b_name(&w, reason);
	} else {
		hc_b_init(&w, 'A', 'K');
		hc_b_u64(&w, id);
	}
	hc_send(&w);
}

static struct hc_answered *hc_seen(uint32_t id, uint16_t crc)
{
	for (int i = 0; i < HC_ID_CACHE; i++)
		if (hc_ids[i].valid && hc_ids[i].id == id && hc_ids[i].crc == crc)
			return &hc_ids[i];
	return 0;
}

static void hc_remember(uint32_t id, uint16_t crc, const char *reason)
{
	struct hc_answered *a = &hc_ids[hc_ids_next++ % HC_ID_CACHE];
	a->id = id;
	a->crc = crc;
	a->valid = 1;
	a->reason = reason;
}

/* Parse fault kind and params from f[k..n-1]. */
static const char *hc_parse_fault(char **f, int k, int n, struct hc_fault *out)
{
	int np = n - k - 1;
	const char *kind = f[k];
	char **p = f + k + 1;
	uint64_t u;
	if (hc_streq(kind, "LB")) {
		out->kind = HC_FAULT_LB;
		if (np != 2 || !hc_parse_i32(p[0], &out->a) || !hc_parse_u64(p[1], &out->us))
			return "bad_fault";
	} else if (hc_streq(kind, "LH")) {
		out->kind = HC_FAULT_LH;
		if (np != 3 || !hc_parse_i32(p[0], &out->a) || !hc_parse_i32(p[1], &out->b) ||
		    !hc_parse_u64(p[2], &out->us))
			return "bad_fault";
	} else if (hc_streq(kind, "IS")) {
		out->kind = HC_FAULT_IS;
		if (np != 3 || !hc_parse_i32(p[0], &out->a) || !hc_parse_u64(p[1], &u) || u > 0x7FFFFFFF ||
		    !hc_parse_u64(p[2], &out->us))
			return "bad_fault";
		out->b = (int32_t)u;
	} else if (hc_streq(kind, "CR")) {
		out->kind = HC_FAULT_CR;
		if (np != 1 || !hc_parse_i32(p[0], &out->a))
			return "bad_fault";
	} else {
		return "bad_fault";
	}
	return 0;
}

/* DP: the ring, oldest first, without consuming it. */
static void hc_dump(void)
{
	uint32_t n = hc_ni.bb_len, first = (hc_ni.bb_next + HC_BB_SIZE - n) % HC_BB_SIZE;
	for (uint32_t i = 0; i < n; i++) {
		struct hc_buf w;
		hc_b_event_body(&w, 1, i, &hc_ni.bb[(first + i) % HC_BB_SIZE]);
		hc_send(&w);
	}
}

static void hc_command(char *line, size_t len, uint16_t crc)
{
	char *f[13];
	int n = 0;
	/* split "TT,a,b" at commas, in place */
	f[n++] = line;
	for (size_t i = 0; i < len; i++) {
		if (line[i] == ',') {
			line[i] = 0;
			if (n == 13)
				return; /* too many fields: malformed */
			f[n++] = line + i + 1;
		} else {
			char c = line[i];
			int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				 (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
			if (!ok)
				return;
		}
	}
	line[len] = 0;
	for (int i = 0; i < n; i++)
		if (!*f[i])
			return; /* empty field */
	const char *t = f[0];
	if (t[0] == 0 || t[1] == 0 || t[2] != 0 || n < 2)
		return;
	uint32_t id;
	if (!hc_parse_u32(f[1], &id))
		return; /* not answered: the host retries */
	struct hc_answered *seen = hc_seen(id, crc);
	if (seen) {
		hc_answer(id, seen->reason); /* a retry: the first answer again */
		return;
	}
	const char *r = 0;
	struct hc_fault fl = {0, 0, 0, 0, 0};
	uint64_t u = 0;
	if (hc_streq(t, "PG") && n == 2) {
		/* v2: a board that ended a run repeats its DN before the AK */
		if (hc_dn_valid && HC_PROTO_VERSION >= 2)
			hc_send_dn();
	} else if (HC_PROTO_VERSION >= 2 && hc_streq(t, "ID") && n == 2) {
		/* v2: AK, then BT and the table again */
		hc_remember(id, crc, 0);
		hc_answer(id, 0);
		hc_send_boot();
		return;
	} else if (hc_streq(t, "CF") && n == 4) {
		r = hc_app_config(f[2], f[3]);
		if (!r && hc_streq(f[2], "trace")) {
			if (f[3][0] >= '0' && f[3][0] <= '2' && f[3][1] == 0)
				hc_trace = f[3][0] - '0';
			else
				r = "bad_value";
		}
	} else if (hc_streq(t, "SF") && n >= 5) {
		if (!hc_parse_u64(f[2], &u) || !hc_parse_u32(f[3], &fl.id))
			return;
		r = hc_parse_fault(f, 4, n, &fl);
		if (!r)
			r = hc_app_fault(&fl, u, 0);
	} else if (hc_streq(t, "FN") && n >= 4) {
		if (!hc_parse_u32(f[2], &fl.id))
			return;
		r = hc_parse_fault(f, 3, n, &fl);
		if (!r)
			r = hc_app_fault(&fl, 0, 1);
	} else if (hc_streq(t, "GO") && n == 3) {
		if (!hc_parse_u64(f[2], &u))
			return;
		r = hc_app_check_go(u);
		hc_remember(id, crc, r);
		hc_answer(id, r);
		if (!r) {
			hc_dn_valid = 0;
			hc_app_go(u);
		}
		return;
	} else if (hc_streq(t, "SP") && n == 2) {
		hc_app_stop();
	} else if (hc_streq(t, "RS") && n == 2) {
		hc_answer(id, 0);
		hc_reset("SW");
		return;
	} else if (hc_streq(t, "DP") && n == 2) {
		hc_dump();
	} else {
		/* a board-to-host type (an echo), or a command with the wrong
		 * field count: malformed, not answered */
		return;
	}
	hc_remember(id, crc, r);
	hc_answer(id, r);
}

static void hc_line(void)
{
	/* hc_rx holds "TT,...*CCCC" (no '$', no line end) */
	uint32_t n = hc_rx_len;
	if (n > 0 && hc_rx[n - 1] == '\r')
		n--;
	if (n < 7 || hc_rx[n - 5] != '*')
		return;
	int crc = 0;
	for (int i = 0; i < 4; i++) {
		int h = hc_hexval(hc_rx[n - 4 + (uint32_t)i]);
		if (h < 0)
			return;
		crc = crc << 4 | h;
	}
	uint16_t want = hc_crc16((const uint8_t *)hc_rx, n - 5);
	if (want != (uint16_t)crc)
		return;
	hc_command(hc_rx, n - 5, want);
}

void hc_rx_byte(uint8_t b)
{
	if (b == '$') {
		hc_rx_in = 1;
		hc_rx_skip = 0;
		hc_rx_len = 0;
		return;
	}
	if (!hc_rx_in)
		return;
	if (b == '\n') {
		hc_rx_in = 0;
		if (!hc_rx_skip)
			hc_line();
		return;
	}
	if (hc_rx_len >= sizeof hc_rx - 1) {
		hc_rx_skip = 1;
		return;
	}
	hc_rx[hc_rx_len++] = (char)b;
}
