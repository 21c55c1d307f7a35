/* kernel.c - fixed-priority preemptive kernel of the reference firmware.
 *
 * Threads: one per task of the profile, NBURST load-burst threads, and the
 * idle thread. Each task thread runs its body (compute / lock / unlock
 * segments) once per released job. Compute segments burn CPU time on the
 * thread's own account (board_ticks between its switch-in and switch-out),
 * so a preempted task makes no progress. The scheduling rules are those of
 * the Go model (firmware/kernel.go): the most urgent effective priority
 * runs; among equals the running thread keeps the CPU, then the one ready
 * first. Every decision is made with interrupts off; PendSV switches.
 */
#include "kernel.h"
#include "cmsdk.h"
#include "hc_agent.h"
#include "hc_port.h"

#define MAXTASKS 8
#define NBURST 4
#define NTHREADS (MAXTASKS + NBURST + 1)
#define QLEN 32     /* queued jobs per task */
#define MAXLH 8     /* pending lock-hold faults per task */
/* Scheduled faults per run: as many as the Go model holds (firmware/board.go
 * maxStored), so that a host uploading a whole plan before GO (a repeatable
 * run under QEMU's icount, docs/AGENT.md) can upload 1024 firings. Every
 * stored fault is a timer while the run goes, beside the tasks' timers. */
#define MAXSTORED 1024
#define MAXTIMERS (MAXSTORED + 160)
#define STACK_WORDS 256

enum { T_WAIT, T_READY, T_BLOCKED };

struct lockhold {
	uint32_t id;
	uint8_t lock, active, applied;
	uint64_t extra_us;
};

struct job {
	uint64_t release_us;
	uint32_t num;
	uint32_t ready_seq;
	uint8_t missed;
};

struct tcb {
	uint32_t *sp; /* must stay first: PendSV reads it */
	int idx;      /* wire task index; the load task for bursts; -1 idle */
	int base, eff;
	uint8_t state;
	int8_t blocked_on;
	uint8_t started;
	uint32_t held; /* lock mask */
	uint32_t ready_seq;
	uint64_t cpu_ticks, in_at;
	uint64_t budget;   /* ticks of the current compute segment left */
	uint64_t budget_at; /* when the budget timer was armed for it */
	volatile uint8_t computing; /* a compute segment is under way */
	void (*entry)(void);
	uint32_t *stack;
	/* periodic tasks */
	const struct task_spec *spec;
	struct job q[QLEN];
	uint32_t qhead, qlen;
	uint32_t released, done;
	uint32_t sm_jobs, sm_misses;
	int64_t sm_max;
	struct lockhold lh[MAXLH];
	int nlh;
	uint32_t uses; /* locks the body takes */
	/* load bursts */
	uint32_t fault_id;
	uint64_t burst_us;
};

struct mutex {
	struct tcb *holder;
	struct tcb *waiters[NTHREADS];
	int nwait;
	int ceiling;
};

struct ktimer {
	uint64_t at;
	uint32_t seq;
	uint8_t kind;
	int16_t idx;
	uint32_t arg;
};
enum { TM_RELEASE, TM_DEADLINE, TM_FAULT, TM_SUMMARY, TM_RUNEND, TM_STORM, TM_STORMEND };

struct stored {
	uint64_t at_us;
	struct hc_fault f;
	uint8_t used;
};

static const struct profile *prof;
int k_proto;
static int default_proto;
static struct tcb threads[NTHREADS];
static int nthreads;
static struct tcb *idle;
static struct tcb *bursts[NBURST];
static uint32_t stacks[NTHREADS][STACK_WORDS] __attribute__((aligned(8)));
static uint32_t boot_stack[64] __attribute__((aligned(8)));
static struct tcb boot_tcb;
static struct mutex locks[8];
struct tcb *volatile k_cur;
static struct tcb *volatile k_next;
static int oncpu = -1;            /* last task announced by CS */
static volatile int reinit;        /* restart every thread at the next switch */
static uint32_t rseq;
static struct ktimer heap[MAXTIMERS];
static int nheap;
static uint32_t tseq;
static struct stored stored[MAXSTORED];
static int active;
static uint64_t run_start, last_sm;
static uint64_t rng = 0x9E3779B97F4A7C15ull;

/* ---- random execution times (xorshift64*, fixed seed per run) ---- */

static uint32_t rnd(uint32_t n)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ull) >> 32) % n;
}

/* ---- timer queue ---- */

static int tless(const struct ktimer *a, const struct ktimer *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void rearm(void);

static void push(uint64_t at, uint8_t kind, int idx, uint32_t arg)
{
	if (nheap == MAXTIMERS)
		return;
	int i = nheap++;
	heap[i] = (struct ktimer){at, ++tseq, kind, (int16_t)idx, arg};
	while (i > 0) {
		int p = (i - 1) / 2;
		if (!tless(&heap[i], &heap[p]))
			break;
		struct ktimer t = heap[i];
		heap[i] = heap[p];
		heap[p] = t;
		i = p;
	}
	if (i == 0)
		rearm();
}

static struct ktimer pop(void)
{
	struct ktimer top = heap[0];
	heap[0] = heap[--nheap];
	int i = 0;
	for (;;) {
		int l = 2 * i + 1, m = l;
		if (l >= nheap)
			break;
		if (l + 1 < nheap && tless(&heap[l + 1], &heap[l]))
			m = l + 1;
		if (!tless(&heap[m], &heap[i]))
			break;
		struct ktimer t = heap[i];
		heap[i] = heap[m];
		heap[m] = t;
		i = m;
	}
	return top;
}

/* Between runs TIMER0 ticks every millisecond, free-running from boot
 * (`heartbeat`), and nothing reprograms it: a GO starts the run at the
 * second tick after it, an instant fixed by the boot, not by when the host's
 * command arrived. From there on TIMER0 is a one-shot reprogrammed only by
 * the run itself, so under QEMU's icount the whole run repeats exactly. */
static int heartbeat = 1;
static int go_pending;
#define HEARTBEAT_TICKS (1000u * TICKS_PER_US - 1) /* the counter runs RELOAD..0 */

static void rearm(void)
{
	if (heartbeat)
		return;
	if (nheap == 0) {
		board_timer0_at(0);
		return;
	}
	uint64_t now = board_ticks(), at = heap[0].at * TICKS_PER_US;
	board_timer0_at(at > now + 250 ? at - now : 250);
}

/* ---- scheduling ---- */

static int better(const struct tcb *a, const struct tcb *c)
{
	if (c == 0 || a->eff != c->eff)
		return c == 0 || a->eff > c->eff;
	if (a == k_cur || c == k_cur)
		return a == k_cur;
	return (int32_t)(a->ready_seq - c->ready_seq) < 0;
}

static void schedule(void)
{
	struct tcb *best = 0;
	for (int i = 0; i < nthreads; i++) {
		struct tcb *t = &threads[i];
		if (t != idle && t->state == T_READY && better(t, best))
			best = t;
	}
	if (!best)
		best = idle;
	k_next = best;
	if (best != k_cur)
		SCB_ICSR = ICSR_PENDSVSET;
}

static void init_stack(struct tcb *t)
{
	uint32_t *sp = t->stack + STACK_WORDS;
	*--sp = 0x01000000u;                          /* xPSR: Thumb */
	*--sp = (uint32_t)(uintptr_t)t->entry & ~1u; /* PC */
	*--sp = 0xFFFFFFFFu;                         /* LR: never returns */
	for (int i = 0; i < 5; i++)
		*--sp = 0; /* r12, r3, r2, r1, r0 */
	for (int i = 0; i < 8; i++)
		*--sp = 0; /* r11..r4 */
	t->sp = sp;
}

/* Called by PendSV with interrupts off, after the outgoing context is
 * saved: account its CPU time, announce the switch, give k_cur. */
void k_switch(void)
{
	uint64_t now = board_ticks();
	struct tcb *prev = k_cur, *next = k_next;
	prev->cpu_ticks += now - prev->in_at;
	if (prev->computing) {
		uint64_t used = now - prev->budget_at;
		if (used >= prev->budget) {
			prev->budget = 0;
			prev->computing = 0;
		} else {
			prev->budget -= used;
		}
	}
	board_budget(0);
	if (reinit) {
		reinit = 0;
		for (int i = 0; i < nthreads; i++)
			if (&threads[i] != idle)
				init_stack(&threads[i]);
	}
	next->in_at = now;
	k_cur = next;
	if (next->computing) {
		next->budget_at = now;
		board_budget(next->budget);
	}
	if (next->idx != oncpu || (next != prev && next->idx == prof->ntasks)) {
		hc_event(HC_EV_CS, next->idx, oncpu);
		oncpu = next->idx;
	}
	if (next->spec && next->qlen && !next->started) {
		next->started = 1;
		hc_event(HC_EV_ST, next->idx, 0);
	}
}

int k_current_task(void) { return k_cur ? k_cur->idx : -1; }

/* Leave a critical section in which the caller may have stopped being the
 * thread to run: PendSV runs as soon as interrupts are on again. */
static void yield_exit(uint32_t s)
{
	schedule();
	hc_port_exit(s);
}

/* Burn us of this thread's own CPU time: the dual timer counts the
 * budget down while the thread has the CPU (k_switch stops and restarts
 * it), and the thread spins on a flag in RAM meanwhile. Spinning on the
 * clock's register instead made QEMU's icount mode slower than real time:
 * every device read there ends a translation block. */
static void compute(uint64_t us)
{
	struct tcb *self = k_cur;
	if (us == 0)
		return;
	uint32_t s = hc_port_enter();
	self->budget = us * TICKS_PER_US;
	self->budget_at = board_ticks();
	self->computing = 1;
	board_budget(self->budget);
	hc_port_exit(s);
	while (self->computing)
		;
}

void k_budget_isr(void)
{
	uint32_t s = hc_port_enter();
	struct tcb *t = k_cur;
	if (t->computing) {
		uint64_t used = board_ticks() - t->budget_at;
		if (used >= t->budget) {
			t->budget = 0;
			t->computing = 0;
		} else { /* early (rounding): wait for the rest */
			t->budget -= used;
			t->budget_at += used;
			board_budget(t->budget);
		}
	}
	hc_port_exit(s);
}

/* ---- priorities and locks ---- */

static void update_prio(struct tcb *t)
{
	while (t) {
		int p = t->base;
		for (uint32_t h = t->held; h; h &= h - 1) {
			int l = __builtin_ctz(h);
			if (k_proto == PROTO_INHERIT) {
				for (int i = 0; i < locks[l].nwait; i++)
					if (locks[l].waiters[i]->eff > p)
						p = locks[l].waiters[i]->eff;
			} else if (k_proto == PROTO_CEILING && locks[l].ceiling > p) {
				p = locks[l].ceiling;
			}
		}
		if (p == t->eff)
			return;
		t->eff = p;
		hc_event(HC_EV_PR, t->idx, p);
		if (t->blocked_on < 0)
			return;
		t = locks[t->blocked_on].holder;
	}
}

static void grant(struct tcb *t, int l)
{
	locks[l].holder = t;
	t->held |= 1u << l;
	hc_event(HC_EV_LK, t->idx, l);
	for (int i = 0; i < t->nlh; i++) {
		struct lockhold *h = &t->lh[i];
		if (h->lock == l && !h->active) {
			h->active = 1;
			hc_event(HC_EV_FB, t->idx, h->id);
		}
	}
	if (k_proto != PROTO_NONE)
		update_prio(t);
}

static void k_lock(int l)
{
	struct tcb *self = k_cur;
	uint32_t s = hc_port_enter();
	struct mutex *m = &locks[l];
	if (m->holder == 0) {
		grant(self, l);
		yield_exit(s);
		return;
	}
	self->blocked_on = (int8_t)l;
	self->state = T_BLOCKED;
	m->waiters[m->nwait++] = self;
	hc_event(HC_EV_BL, self->idx, l);
	if (k_proto == PROTO_INHERIT)
		update_prio(m->holder);
	yield_exit(s);
	/* back here once unlock granted the lock to us */
}

static void k_unlock(int l)
{
	struct tcb *self = k_cur;
	uint64_t extra = 0;
	uint32_t s = hc_port_enter();
	for (int i = 0; i < self->nlh; i++) {
		struct lockhold *h = &self->lh[i];
		if (h->lock == l && h->active && !h->applied) {
			h->applied = 1;
			extra += h->extra_us;
		}
	}
	hc_port_exit(s);
	if (extra)
		compute(extra);
	s = hc_port_enter();
	struct mutex *m = &locks[l];
	m->holder = 0;
	self->held &= ~(1u << l);
	hc_event(HC_EV_UL, self->idx, l);
	int k = 0;
	for (int i = 0; i < self->nlh; i++) {
		struct lockhold *h = &self->lh[i];
		if (h->lock == l && h->applied) {
			hc_event(HC_EV_FE, self->idx, h->id);
			continue;
		}
		self->lh[k++] = *h;
	}
	self->nlh = k;
	if (m->nwait > 0) {
		int wi = 0;
		for (int i = 1; i < m->nwait; i++)
			if (m->waiters[i]->eff > m->waiters[wi]->eff)
				wi = i;
		struct tcb *w = m->waiters[wi];
		for (int i = wi; i < m->nwait - 1; i++)
			m->waiters[i] = m->waiters[i + 1];
		m->nwait--;
		w->blocked_on = -1;
		w->state = T_READY;
		w->ready_seq = ++rseq;
		grant(w, l);
		if (k_proto == PROTO_INHERIT)
			update_prio(w);
	}
	update_prio(self);
	yield_exit(s);
}

/* ---- jobs ---- */

static void miss(struct tcb *t, struct job *j)
{
	if (j->missed)
		return;
	j->missed = 1;
	t->sm_misses++;
	hc_event(HC_EV_DM, t->idx, j->num);
}

static void release(int ti, uint64_t at)
{
	struct tcb *t = &threads[ti];
	const struct task_spec *sp = t->spec;
	if (t->qlen < QLEN) {
		struct job *j = &t->q[(t->qhead + t->qlen) % QLEN];
		j->release_us = at;
		j->num = t->released;
		j->missed = 0;
		j->ready_seq = ++rseq;
		if (t->qlen == 0) {
			t->state = T_READY;
			t->ready_seq = j->ready_seq;
			t->started = 0;
		}
		t->qlen++;
		hc_event(HC_EV_RL, ti, t->released);
		push(at + sp->deadline_us, TM_DEADLINE, ti, t->released);
	}
	t->released++;
	push(at + sp->period_us, TM_RELEASE, ti, 0);
}

/* The running task's current job is done. */
static void job_end(void)
{
	struct tcb *t = k_cur;
	uint32_t s = hc_port_enter();
	struct job *j = &t->q[t->qhead];
	int64_t resp = (int64_t)(board_us() - j->release_us);
	hc_event(HC_EV_EN, t->idx, resp);
	t->done++;
	t->sm_jobs++;
	if (resp > t->sm_max)
		t->sm_max = resp;
	uint64_t rel = j->release_us;
	t->qhead = (t->qhead + 1) % QLEN;
	t->qlen--;
	if (t->qlen) {
		t->ready_seq = t->q[t->qhead].ready_seq;
		t->started = 0;
	} else {
		t->state = T_WAIT;
	}
	if (t->idx == prof->mon_task) {
		struct tcb *w = &threads[prof->mon_watched];
		if (w->qlen && w->q[w->qhead].release_us < rel) {
			miss(w, &w->q[w->qhead]);
		} else if (active) {
			board_wdog_kick();
			hc_event(HC_EV_WK, t->idx, 0);
		}
	}
	yield_exit(s);
}

static void wait_job(void)
{
	struct tcb *t = k_cur;
	for (;;) {
		uint32_t s = hc_port_enter();
		if (t->qlen) {
			hc_port_exit(s);
			return;
		}
		t->state = T_WAIT;
		yield_exit(s);
	}
}

static void task_main(void)
{
	struct tcb *t = k_cur;
	const struct task_spec *sp = t->spec;
	for (;;) {
		wait_job();
		for (int i = 0; i < sp->nbody; i++) {
			const struct seg *g = &sp->body[i];
			switch (g->kind) {
			case SEG_COMPUTE: {
				uint32_t s = hc_port_enter();
				uint32_t d = g->best_us;
				if (g->worst_us > g->best_us)
					d += rnd(g->worst_us - g->best_us + 1);
				hc_port_exit(s);
				compute(d);
				break;
			}
			case SEG_LOCK:
				k_lock(g->lock);
				break;
			case SEG_UNLOCK:
				k_unlock(g->lock);
				break;
			}
		}
		job_end();
	}
}

static void burst_main(void)
{
	struct tcb *t = k_cur;
	for (;;) {
		uint32_t s = hc_port_enter();
		while (t->state != T_READY) {
			yield_exit(s);
			s = hc_port_enter();
		}
		hc_port_exit(s);
		compute(t->burst_us);
		s = hc_port_enter();
		hc_event(HC_EV_FE, t->idx, t->fault_id);
		t->state = T_WAIT;
		t->burst_us = 0;
		yield_exit(s);
	}
}

/* The idle thread sends the agent's frames and otherwise sleeps in WFI
 * (board.c, board_tx_idle). */
static void idle_main(void)
{
	for (;;)
		board_tx_idle();
}

/* ---- faults ---- */

#ifdef HC_TEST_BUILD
/* Test builds only: the CR fault provokes a HardFault, so the crash frame
 * and its symbolization can be tested. */
__attribute__((noinline)) void crash_bus_read(void)
{
	/* an address with nothing behind it: a precise bus fault */
	(void)*(volatile uint32_t *)0xF0000000u;
}

__attribute__((noinline)) static void crash_bad_jump(void)
{
	void (*f)(void) = (void (*)(void))0x00000100u; /* Thumb bit clear */
	f();
}
#endif

static uint32_t storm_period;
static int storm_on;

static void fire(const struct hc_fault *f)
{
	switch (f->kind) {
	case HC_FAULT_LB:
		for (int i = 0; i < NBURST; i++) {
			struct tcb *b = bursts[i];
			if (b->state == T_WAIT && !b->burst_us) {
				b->base = b->eff = f->a;
				b->burst_us = f->us;
				b->fault_id = f->id;
				b->state = T_READY;
				b->ready_seq = ++rseq;
				hc_event(HC_EV_FB, b->idx, f->id);
				break;
			}
		}
		break;
	case HC_FAULT_LH: {
		struct tcb *t = &threads[f->a];
		if (t->nlh == MAXLH)
			break;
		struct lockhold h = {f->id, (uint8_t)f->b, 0, 0, f->us};
		if (t->qlen && (t->held & (1u << f->b))) {
			h.active = 1;
			hc_event(HC_EV_FB, f->a, f->id);
		}
		t->lh[t->nlh++] = h;
		break;
	}
	case HC_FAULT_IS:
		/* pend IRQ_STORM every b us at priority a, for us */
		hc_event(HC_EV_FB, -1, f->id);
		board_storm_prio(f->a);
		storm_period = (uint32_t)f->b;
		storm_on = 1;
		push(board_us(), TM_STORM, 0, 0);
		push(board_us() + f->us, TM_STORMEND, 0, f->id);
		break;
#ifdef HC_TEST_BUILD
	case HC_FAULT_CR:
		if (f->a == 1)
			crash_bad_jump();
		crash_bus_read();
		break;
#endif
	}
}

volatile uint32_t k_storm_count;

void k_storm_isr(void) { k_storm_count++; }

static const char *check_fault(const struct hc_fault *f)
{
	switch (f->kind) {
	case HC_FAULT_LB:
		if (f->us == 0 || f->us > (1ull << 40))
			return "bad_fault";
		return 0;
	case HC_FAULT_LH:
		if (f->a < 0 || f->a >= prof->ntasks)
			return "bad_task";
		if (f->b < 0 || f->b >= prof->nlocks || !(threads[f->a].uses & (1u << f->b)))
			return "bad_lock";
		if (f->us == 0 || f->us > (1ull << 40))
			return "bad_fault";
		return 0;
	case HC_FAULT_IS:
		/* priority 0..7 (the NVIC's 3 bits); one interrupt per period */
		if (f->a < 0 || f->a > 7 || f->b < 20 || f->us == 0 || f->us > (1ull << 40))
			return "bad_fault";
		return 0;
#ifdef HC_TEST_BUILD
	case HC_FAULT_CR:
		return f->a == 0 || f->a == 1 ? 0 : "bad_fault";
#endif
	}
	return "bad_fault";
}

const char *k_fault(const void *fv, uint64_t at_us, int now)
{
	const struct hc_fault *f = fv;
	const char *r = check_fault(f);
	if (r)
		return r;
	if (at_us > (1ull << 50))
		return "bad_value";
	uint32_t s = hc_port_enter();
	if (now) {
		if (!active) {
			hc_port_exit(s);
			return "idle";
		}
		fire(f);
		yield_exit(s);
		return 0;
	}
	int slot = -1;
	for (int i = 0; i < MAXSTORED; i++)
		if (!stored[i].used) {
			slot = i;
			break;
		}
	if (slot < 0) {
		hc_port_exit(s);
		return "full";
	}
	stored[slot] = (struct stored){at_us, *f, 1};
	if (active && !heartbeat) {
		uint64_t at = run_start + at_us, n = board_us();
		push(at > n ? at : n, TM_FAULT, slot, 0);
	}
	hc_port_exit(s);
	return 0;
}

/* ---- runs ---- */

int k_active(void) { return active; }

static void summaries(uint64_t at)
{
	for (int i = 0; i < prof->ntasks; i++) {
		struct tcb *t = &threads[i];
		hc_summary_at(i, t->sm_jobs, t->sm_max, t->sm_misses, at);
		t->sm_jobs = t->sm_misses = 0;
		t->sm_max = 0;
	}
	last_sm = at;
}

static uint64_t run_duration;

void k_go(uint64_t duration_us)
{
	uint32_t s = hc_port_enter();
	active = 1;
	run_duration = duration_us;
	go_pending = 2;
	hc_port_exit(s);
}

static void start_run(void)
{
	heartbeat = 0;
	run_start = board_us();
	rng = 0x9E3779B97F4A7C15ull;
	hc_event_at(HC_EV_GO, -1, (int64_t)run_duration, run_start);
	if (run_duration)
		push(run_start + run_duration, TM_RUNEND, 0, 0);
	for (int i = 0; i < prof->ntasks; i++)
		push(run_start + prof->tasks[i].offset_us, TM_RELEASE, i, 0);
	for (int i = 0; i < MAXSTORED; i++)
		if (stored[i].used)
			push(run_start + stored[i].at_us, TM_FAULT, i, 0);
	push(run_start + 1000000, TM_SUMMARY, 0, 0);
	last_sm = run_start;
	if (prof->watchdog_us)
		board_wdog_arm(prof->watchdog_us);
	rearm();
}

/* Stop the run: summaries, the CPU to idle, every thread restarted, DN. */
static void end_run(void)
{
	uint64_t now = board_us();
	if (last_sm != now)
		summaries(now);
	if (oncpu != -1) {
		hc_event(HC_EV_CS, -1, oncpu);
		oncpu = -1;
	}
	board_wdog_off();
	storm_on = 0;
	nheap = 0;
	heartbeat = 1;
	go_pending = 0;
	board_timer0_periodic(HEARTBEAT_TICKS);
	for (int i = 0; i < nthreads; i++) {
		struct tcb *t = &threads[i];
		if (t == idle)
			continue;
		t->state = T_WAIT;
		t->eff = t->base;
		t->blocked_on = -1;
		t->held = 0;
		t->qlen = t->qhead = 0;
		t->released = t->done = 0;
		t->sm_jobs = t->sm_misses = 0;
		t->sm_max = 0;
		t->nlh = 0;
		t->burst_us = 0;
		t->started = 0;
		t->computing = 0;
		t->budget = 0;
	}
	board_budget(0);
	for (int i = 0; i < prof->nlocks; i++) {
		locks[i].holder = 0;
		locks[i].nwait = 0;
	}
	for (int i = 0; i < MAXSTORED; i++)
		stored[i].used = 0;
	active = 0;
	reinit = 1;
	k_next = idle;
	SCB_ICSR = ICSR_PENDSVSET;
	hc_done_at(now);
}

void k_stop(void)
{
	uint32_t s = hc_port_enter();
	if (active && heartbeat)
		start_run(); /* SP before the heartbeat started the run: GO first */
	if (active)
		end_run();
	hc_port_exit(s);
}

void k_timer_isr(void)
{
	uint32_t s = hc_port_enter();
	if (heartbeat) {
		(void)board_ticks(); /* counts TIMER1's wraps between runs */
		board_wdog_idle();   /* never expires between runs (board.c) */
		if (go_pending && --go_pending == 0)
			start_run();
		hc_port_exit(s);
		return;
	}
	while (nheap > 0 && heap[0].at <= board_us()) {
		struct ktimer t = pop();
		switch (t.kind) {
		case TM_RELEASE:
			release(t.idx, t.at);
			break;
		case TM_DEADLINE: {
			struct tcb *k = &threads[t.idx];
			if (t.arg >= k->done) {
				uint32_t off = t.arg - k->done;
				if (off < k->qlen)
					miss(k, &k->q[(k->qhead + off) % QLEN]);
			}
			break;
		}
		case TM_FAULT:
			if (stored[t.idx].used) {
				stored[t.idx].used = 0;
				fire(&stored[t.idx].f);
			}
			break;
		case TM_SUMMARY:
			summaries(t.at);
			push(t.at + 1000000, TM_SUMMARY, 0, 0);
			break;
		case TM_RUNEND:
			end_run();
			hc_port_exit(s);
			return;
		case TM_STORM:
			if (storm_on) {
				NVIC_ISPR0 = 1u << IRQ_STORM;
				push(t.at + storm_period, TM_STORM, 0, 0);
			}
			break;
		case TM_STORMEND:
			storm_on = 0;
			hc_event(HC_EV_FE, -1, t.arg);
			break;
		}
	}
	rearm();
	yield_exit(s);
}

void k_table(void)
{
	static const char *const pn[] = {"none", "inherit", "ceiling"};
	for (int i = 0; i < prof->ntasks; i++) {
		const struct task_spec *t = &prof->tasks[i];
		uint64_t wcet = 0;
		for (int k = 0; k < t->nbody; k++)
			if (t->body[k].kind == SEG_COMPUTE)
				wcet += t->body[k].worst_us;
		hc_send_task(i, t->name, t->prio, t->period_us, t->deadline_us, t->offset_us, wcet);
	}
	hc_send_task(prof->ntasks, "load", 0, 0, 0, 0, 0);
	for (int i = 0; i < prof->nlocks; i++)
		hc_send_lock(i, prof->locks[i], pn[k_proto], locks[i].ceiling);
	hc_send_table_end(prof->ntasks + 1, prof->nlocks);
}

/* ---- start ---- */

static struct tcb *new_thread(void (*entry)(void), int idx, int prio)
{
	struct tcb *t = &threads[nthreads];
	t->stack = stacks[nthreads];
	nthreads++;
	t->entry = entry;
	t->idx = idx;
	t->base = t->eff = prio;
	t->blocked_on = -1;
	t->state = T_WAIT;
	init_stack(t);
	return t;
}

void k_init(const struct profile *p, int proto)
{
	prof = p;
	k_proto = default_proto = proto;
	for (int i = 0; i < p->ntasks && i < MAXTASKS; i++) {
		struct tcb *t = new_thread(task_main, i, p->tasks[i].prio);
		t->spec = &p->tasks[i];
		for (int k = 0; k < t->spec->nbody; k++)
			if (t->spec->body[k].kind == SEG_LOCK) {
				t->uses |= 1u << t->spec->body[k].lock;
				if (t->spec->prio > locks[t->spec->body[k].lock].ceiling)
					locks[t->spec->body[k].lock].ceiling = t->spec->prio;
			}
	}
	for (int i = 0; i < NBURST; i++)
		bursts[i] = new_thread(burst_main, p->ntasks, 0);
	idle = new_thread(idle_main, -1, -1000);
}

void k_start(void)
{
	boot_tcb.idx = -1;
	k_cur = &boot_tcb;
	k_next = idle;
	SCB_SHPR3 |= 0xFFu << 16; /* PendSV: lowest priority */
	board_timer0_periodic(HEARTBEAT_TICKS);
	/* thread mode on PSP, on a scratch stack PendSV saves main's context to */
	__asm volatile("msr psp, %0\n\tmovs r0, #2\n\tmsr control, r0\n\tisb" ::"r"(boot_stack + 64)
		       : "r0", "memory");
	SCB_ICSR = ICSR_PENDSVSET;
	__asm volatile("cpsie i" ::: "memory");
	for (;;)
		;
}

__attribute__((naked)) void PendSV_Handler(void)
{
	__asm volatile(
	    "cpsid i\n\t"
	    "mrs r0, psp\n\t"
	    "stmdb r0!, {r4-r11}\n\t"
	    "ldr r1, =k_cur\n\t"
	    "ldr r2, [r1]\n\t"
	    "str r0, [r2]\n\t"
	    "push {r1, lr}\n\t"
	    "bl k_switch\n\t"
	    "pop {r1, lr}\n\t"
	    "ldr r2, [r1]\n\t"
	    "ldr r0, [r2]\n\t"
	    "ldmia r0!, {r4-r11}\n\t"
	    "msr psp, r0\n\t"
	    "cpsie i\n\t"
	    "bx lr\n\t");
}
