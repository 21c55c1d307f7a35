/* hc_agent.h - the hilchaos board agent: the board side of docs/PROTOCOL.md.
 *
 * Portable C99, no heap, no C library. The firmware records events with
 * hc_event() from tasks and ISRs; they are encoded into frames with a
 * CRC-16 and queued in a transmit ring that the UART drains (hc_tx_pull);
 * a full ring drops the event and reports the count in the next DR event.
 * Received bytes go to hc_rx_byte(); a complete command line is parsed and
 * carried out through the hc_app_* callbacks the firmware implements.
 * Commands are idempotent by id: a repeated id gets its first answer again
 * and is not carried out twice. Protocol version 2 (BT announces it).
 */
#ifndef HC_AGENT_H
#define HC_AGENT_H

#include <stddef.h>
#include <stdint.h>

#ifndef HC_TX_SIZE
#define HC_TX_SIZE 16384 /* transmit ring, bytes (a power of two) */
#endif
#ifndef HC_BB_SIZE
#define HC_BB_SIZE 64 /* black-box events kept across a reset */
#endif
#ifndef HC_PROTO_VERSION
#define HC_PROTO_VERSION 2 /* announced in BT (1: no proto field) */
#endif
#ifndef HC_ID_CACHE
#define HC_ID_CACHE 32 /* recent command ids remembered with their answer (v2: >= 32) */
#endif

/* Event kinds (docs/PROTOCOL.md, section 3). */
enum hc_kind {
	HC_EV_RL = 1, /* release: task, job number */
	HC_EV_ST,     /* start */
	HC_EV_EN,     /* end: response time in us */
	HC_EV_BL,     /* block on lock arg */
	HC_EV_LK,     /* lock acquired */
	HC_EV_UL,     /* unlock */
	HC_EV_CS,     /* context switch to task from arg */
	HC_EV_DM,     /* deadline miss: job number */
	HC_EV_WK,     /* watchdog kick */
	HC_EV_WX,     /* watchdog expiry */
	HC_EV_FB,     /* fault begin: fault id */
	HC_EV_FE,     /* fault end: fault id */
	HC_EV_DR,     /* dropped events (sent by the agent itself) */
	HC_EV_PR,     /* effective priority change: new priority */
	HC_EV_GO,     /* run start: duration in us */
	HC_EV_COUNT
};

/* Fault kinds the agent parses (SF / FN). */
enum hc_fault_kind {
	HC_FAULT_LB = 1, /* load burst: a = priority, us = CPU time */
	HC_FAULT_LH,     /* lock hold: a = task, b = lock, us = extra */
	HC_FAULT_IS,     /* irq storm: a = priority, b = period us, us = length */
	HC_FAULT_CR      /* crash (test builds only): a = 0 null read, 1 bad jump */
};

struct hc_fault {
	uint32_t id;
	uint8_t kind;
	int32_t a, b;
	uint64_t us;
};

/* One recorded event (black box, host tests). */
struct hc_event {
	uint64_t time_us;
	int64_t arg;
	int16_t task;
	uint8_t kind;
	uint8_t pad;
};

/* Identity sent in BT. */
struct hc_ident {
	const char *name;
	const char *version;
	const char *build; /* e.g. the GNU build id in hex */
};

/* ---- what the firmware calls ---- */

/* Call once at boot, before interrupts are enabled. Reads the reset reason
 * and boot count kept in .noinit (the black box there goes on recording;
 * power-on clears it), and sends BT and the table (hc_app_table). */
void hc_init(const struct hc_ident *id);

/* Record an event. ISR-safe. Black box always (levels 0-1); the line
 * according to the trace level. */
void hc_event(uint8_t kind, int32_t task, int64_t arg);
/* The same with an explicit time (us since boot), e.g. the GO event stamped
 * with the run's start rather than the moment the timer ISR got to it. */
void hc_event_at(uint8_t kind, int32_t task, int64_t arg, uint64_t time_us);

/* A per-task summary (SM), sent at every trace level. */
void hc_summary(int32_t task, uint32_t jobs, int64_t max_resp_us, uint32_t misses);

/* The same, stamped with time_us: a run's final SMs and its DN carry one
 * instant (PROTOCOL.md 2.4). */
void hc_summary_at(int32_t task, uint32_t jobs, int64_t max_resp_us, uint32_t misses, uint64_t time_us);

/* The run's duration has passed: DN (now, or at time_us). */
void hc_done(void);
void hc_done_at(uint64_t time_us);

/* Table frames, for hc_app_table. */
void hc_send_task(int idx, const char *name, int prio, uint64_t period_us,
		  uint64_t deadline_us, uint64_t offset_us, uint64_t wcet_us);
void hc_send_lock(int idx, const char *name, const char *protocol, int ceiling);
void hc_send_table_end(int ntasks, int nlocks);

/* Feed one received byte (from the UART RX ISR or a task). Commands are
 * carried out in the caller's context. */
void hc_rx_byte(uint8_t b);

/* The UART pulls the next byte to send; returns 0 when the ring is empty. */
int hc_tx_pull(uint8_t *b);

/* Reset the board on purpose: note the reason (for the next BT), flush the
 * ring with polled writes, reset. reason: "SW". */
void hc_reset(const char *reason);

/* From the watchdog's early-warning interrupt (NMI): records WX, flushes,
 * and notes WDT as the reason of the reset that follows. */
void hc_watchdog_expired(void);

/* From a fault handler: sends a CR frame with the stacked registers with
 * polled writes, notes CRASH as the reason, and resets. */
void hc_crash(uint32_t pc, uint32_t lr, uint32_t xpsr, uint32_t cfsr, int32_t task);

/* The trace level now (0, 1, 2) and the reason of this boot. */
int hc_trace_level(void);
const char *hc_boot_reason(void);
uint32_t hc_boot_count(void);

/* ---- what the firmware implements (callbacks) ---- */

/* Send the table: hc_send_task for each task, hc_send_lock for each lock,
 * hc_send_table_end. */
void hc_app_table(void);
/* Configure key=value (other than "trace", which the agent handles); return
 * 0 when done, else an NK reason ("busy", "bad_key", "bad_value",
 * "unsupported"). */
const char *hc_app_config(const char *key, const char *value);
/* Schedule a fault at at_us after the run's start (SF), or fire it now (FN,
 * now != 0). Return 0 or an NK reason ("bad_fault", "bad_task", "bad_lock",
 * "full", "idle"). */
const char *hc_app_fault(const struct hc_fault *f, uint64_t at_us, int now);
/* Start a run (GO): return 0 or "busy". The agent has already sent AK; the
 * app records the GO event (hc_event(HC_EV_GO, -1, duration)). */
const char *hc_app_check_go(uint64_t duration_us);
void hc_app_go(uint64_t duration_us);
/* Stop the run (SP); the app sends DN (hc_done) when one was active. */
void hc_app_stop(void);

/* ---- encoder and parser, exposed for host tests ---- */

uint16_t hc_crc16(const uint8_t *p, size_t n);
/* Encode a frame body (without '$', '*CRC', '\n') as a whole frame into
 * out (at least 128 bytes); returns its length, or 0 if it does not fit. */
size_t hc_frame(char *out, const char *body, size_t n);
/* Encode an EV (bx=0) or BX (bx=1) frame. */
size_t hc_encode_event(char *out, int bx, uint32_t seq, const struct hc_event *e);

#endif
