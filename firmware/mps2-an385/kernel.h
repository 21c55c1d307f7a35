/* kernel.h - a small fixed-priority preemptive kernel for Cortex-M3:
 * PendSV context switch, a tickless timer queue on TIMER0, per-task CPU-time
 * accounting, mutexes with none / inherit / ceiling, a CMSDK watchdog kicked
 * by a bc_sched-style cycle monitor, and the hilchaos fault hooks. */
#ifndef KERNEL_H
#define KERNEL_H

#include <stdint.h>

enum { SEG_COMPUTE, SEG_LOCK, SEG_UNLOCK };
enum { PROTO_NONE, PROTO_INHERIT, PROTO_CEILING };

struct seg {
	uint8_t kind;
	uint8_t lock;
	uint32_t best_us, worst_us;
};

struct task_spec {
	const char *name;
	int prio;
	uint32_t period_us, deadline_us, offset_us;
	const struct seg *body;
	int nbody;
};

struct profile {
	const char *name, *version;
	const struct task_spec *tasks;
	int ntasks;
	const char *const *locks;
	int nlocks;
	uint32_t watchdog_us;
	int mon_task, mon_watched; /* -1: no cycle monitor */
};

void k_init(const struct profile *p, int proto);
__attribute__((noreturn)) void k_start(void); /* becomes the idle thread */

/* board.c */
uint64_t board_ticks(void); /* 40 ns ticks since boot */
uint64_t board_us(void);
void board_init(void);
void board_timer0_at(uint64_t delta_ticks); /* one-shot; 0: stop */
void board_timer0_periodic(uint32_t ticks);
void board_wdog_arm(uint32_t us);
void board_wdog_kick(void);
void board_wdog_off(void);
void board_wdog_idle(void);
void board_budget(uint64_t ticks); /* one-shot compute budget; 0: stop */
void board_storm_prio(int prio);
void board_tx_idle(void); /* the idle thread: send a byte from the agent's ring */

/* kernel.c, called from board.c's interrupt handlers */
void k_timer_isr(void);
void k_storm_isr(void);
void k_budget_isr(void);
int k_current_task(void);

/* the kernel's state the agent's callbacks use */
extern int k_proto;
int k_active(void);
const char *k_fault(const void *f, uint64_t at_us, int now);
void k_go(uint64_t duration_us);
void k_stop(void);
void k_table(void);

#endif
