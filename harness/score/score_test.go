package score

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hilchaos/hilchaos/harness/analyze"
	"github.com/hilchaos/hilchaos/harness/record"
)

// Every row of docs/SCORING.md, its threshold and its cap, on hand-built
// records: the reference run and the observed run differ in one way each.

type edit func(obs, ref *record.RunRecord)

func task(r *record.RunRecord, name string, f func(t *analyze.TaskResult)) {
	if r.Tasks == nil {
		r.Tasks = map[string]analyze.TaskResult{}
	}
	t := r.Tasks[name]
	f(&t)
	r.Tasks[name] = t
}

func base() *record.RunRecord {
	r := &record.RunRecord{Telemetry: record.Telemetry{Frames: 10_000}}
	for _, n := range []string{"bc_dist", "bc_sched"} {
		task(r, n, func(t *analyze.TaskResult) {
			t.Jobs, t.P99ResponseUS, t.MaxResponseUS, t.MaxBlockingUS = 480, 10_000, 20_000, 2_000
		})
	}
	return r
}

type want struct {
	metric string
	points float64
}

func TestScoringRules(t *testing.T) {
	cases := []struct {
		name  string
		edit  edit
		score float64
		want  []want
	}{
		{"identical runs lose nothing", func(o, r *record.RunRecord) {}, 100, nil},

		// each watchdog reset or hang the reference run did not have: -25
		{"a watchdog reset", func(o, r *record.RunRecord) { o.Resets.Watchdog = 1 }, 75, []want{{"resets.watchdog", 25}}},
		{"watchdog resets beyond the reference's", func(o, r *record.RunRecord) { o.Resets.Watchdog, r.Resets.Watchdog = 3, 1 }, 50, []want{{"resets.watchdog", 50}}},
		{"fewer resets than the reference", func(o, r *record.RunRecord) { r.Resets.Watchdog, r.Resets.Hang = 2, 1 }, 100, nil},
		{"a hang", func(o, r *record.RunRecord) { o.Resets.Hang = 1 }, 75, []want{{"resets.hang", 25}}},

		// each software, power-on or unexplained reset: -10
		{"software, power-on and unknown resets", func(o, r *record.RunRecord) {
			o.Resets.Software, o.Resets.PowerOn, o.Resets.Unknown = 1, 1, 2
		}, 60, []want{{"resets.software", 10}, {"resets.power_on", 10}, {"resets.unknown", 20}}},
		{"expected resets cost nothing", func(o, r *record.RunRecord) { o.Resets.Expected = 5 }, 100, nil},

		// each deadline miss beyond the reference's, per task: -2, at most -20 per task
		{"misses beyond the reference's", func(o, r *record.RunRecord) {
			task(o, "bc_dist", func(t *analyze.TaskResult) { t.DeadlineMisses = 4 })
			task(r, "bc_dist", func(t *analyze.TaskResult) { t.DeadlineMisses = 1 })
		}, 94, []want{{"bc_dist.deadline_misses", 6}}},
		{"misses capped per task", func(o, r *record.RunRecord) {
			task(o, "bc_dist", func(t *analyze.TaskResult) { t.DeadlineMisses = 11 })
			task(o, "bc_sched", func(t *analyze.TaskResult) { t.DeadlineMisses = 60 })
		}, 60, []want{{"bc_dist.deadline_misses", 20}, {"bc_sched.deadline_misses", 20}}},

		// p99 more than 25% and more than 1 ms above the reference's: -5 per task
		{"p99 exactly 25% above", func(o, r *record.RunRecord) {
			task(o, "bc_dist", func(t *analyze.TaskResult) { t.P99ResponseUS = 12_500 })
		}, 100, nil},
		{"p99 just over 25% and 1 ms above", func(o, r *record.RunRecord) {
			task(o, "bc_dist", func(t *analyze.TaskResult) { t.P99ResponseUS = 12_501 })
		}, 95, []want{{"bc_dist.p99_response_us", 5}}},
		{"p99 far over 25% but exactly 1 ms above", func(o, r *record.RunRecord) {
			task(r, "bc_dist", func(t *analyze.TaskResult) { t.P99ResponseUS = 2_000 })
			task(o, "bc_dist", func(t *analyze.TaskResult) { t.P99ResponseUS = 3_000 })
		}, 100, nil},
		{"p99 over 25% and just over 1 ms above", func(o, r *record.RunRecord) {
			task(r, "bc_dist", func(t *analyze.TaskResult) { t.P99ResponseUS = 2_000 })
			task(o, "bc_dist", func(t *analyze.TaskResult) { t.P99ResponseUS = 3_001 })
		}, 95, []want{{"bc_dist.p99_response_us", 5}}},
		{"p99 of window maxima at trace level 0", func(o, r *record.RunRecord) {
			for _, x := range []*record.RunRecord{o, r} {
				task(x, "bc_dist", func(t *analyze.TaskResult) { t.WindowMax, t.P99ResponseUS, t.P99OfWindowMaxUS = true, 0, 10_000 })
			}
			task(o, "bc_dist", func(t *analyze.TaskResult) { t.P99OfWindowMaxUS = 30_000 })
		}, 95, []want{{"bc_dist.p99_of_window_max_us", 5}}},

		// worst blocking more than twice and more than 1 ms above: -5 per task
		{"blocking exactly twice", func(o, r *record.RunRecord) {
			task(o, "bc_dist", func(t *analyze.TaskResult) { t.MaxBlockingUS = 4_000 })
		}, 100, nil},
		{"blocking just over twice", func(o, r *record.RunRecord) {
			task(o, "bc_dist", func(t *analyze.TaskResult) { t.MaxBlockingUS = 4_001 })
		}, 95, []want{{"bc_dist.max_blocking_us", 5}}},
		{"blocking over twice but exactly 1 ms above", func(o, r *record.RunRecord) {
			task(r, "bc_dist", func(t *analyze.TaskResult) { t.MaxBlockingUS = 100 })
			task(o, "bc_dist", func(t *analyze.TaskResult) { t.MaxBlockingUS = 1_100 })
		}, 100, nil},
		{"blocking on two tasks", func(o, r *record.RunRecord) {
			task(o, "bc_dist", func(t *analyze.TaskResult) { t.MaxBlockingUS = 9_000 })
			task(o, "bc_sched", func(t *analyze.TaskResult) { t.MaxBlockingUS = 9_000 })
		}, 90, []want{{"bc_dist.max_blocking_us", 5}, {"bc_sched.max_blocking_us", 5}}},

		// each inversion episode beyond the reference's: -1, at most -10
		{"inversions beyond the reference's", func(o, r *record.RunRecord) { o.Inversions, r.Inversions = 5, 2 }, 97, []want{{"inversions", 3}}},
		{"inversions capped", func(o, r *record.RunRecord) { o.Inversions = 60 }, 90, []want{{"inversions", 10}}},

		// more than 1% of events lost: -5
		{"exactly 1% lost", func(o, r *record.RunRecord) { o.Telemetry.Frames, o.Telemetry.Lost = 990, 10 }, 100, nil},
		{"just over 1% lost", func(o, r *record.RunRecord) { o.Telemetry.Frames, o.Telemetry.Lost = 990, 11 }, 95, []want{{"telemetry.lost", 5}}},
		{"loss counts dropped events (one number)", func(o, r *record.RunRecord) {
			o.Telemetry.Frames, o.Telemetry.SeqLost, o.Telemetry.Dropped, o.Telemetry.Lost = 1000, 0, 500, 500
		}, 95, []want{{"telemetry.lost", 5}}},

		// each task metric outside the declared model the reference kept inside: -3, at most -15
		{"findings the reference did not have", func(o, r *record.RunRecord) {
			o.Findings = []analyze.Finding{{Task: "bc_dist", Metric: "response_us", ObservedUS: 1}, {Task: "bc_dist", Metric: "exec_us", ObservedUS: 1}}
			r.Findings = []analyze.Finding{{Task: "bc_dist", Metric: "exec_us"}}
		}, 97, []want{{"findings.bc_dist.response_us", 3}}},
		{"findings capped", func(o, r *record.RunRecord) {
			for _, tk := range []string{"a", "b", "c", "d", "e", "f"} {
				o.Findings = append(o.Findings, analyze.Finding{Task: tk, Metric: "response_us"})
			}
		}, 85, []want{{"findings.a.response_us", 3}, {"findings.b.response_us", 3}, {"findings.c.response_us", 3}, {"findings.d.response_us", 3}, {"findings.e.response_us", 3}}},

		// the score never goes below 0; every deduction is still listed in full
		{"floor at 0", func(o, r *record.RunRecord) { o.Resets.Watchdog, o.Inversions = 5, 3 }, 0, []want{{"resets.watchdog", 125}, {"inversions", 3}}},

		// a task the reference does not have is not compared
		{"a task missing from the reference", func(o, r *record.RunRecord) {
			task(o, "extra", func(t *analyze.TaskResult) { t.DeadlineMisses, t.P99ResponseUS = 9, 900_000 })
		}, 100, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs, ref := base(), base()
			c.edit(obs, ref)
			score, ds := Score(obs, ref)
			assert.Equal(t, c.score, score)
			var got []want
			for _, d := range ds {
				got = append(got, want{d.Metric, d.Points})
				assert.NotEmpty(t, d.Rule, "every deduction says its rule")
			}
			assert.Equal(t, c.want, got)
		})
	}
}
