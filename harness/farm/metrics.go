package farm

import (
	"fmt"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hilchaos/hilchaos/harness/record"
)

// Metrics are a controller's or an agent's Prometheus metrics, for a
// night's dashboard: runs by verdict, resets by kind, board seconds done,
// telemetry loss, and the health of each rig.
type Metrics struct {
	Registry *prometheus.Registry
	runs     *prometheus.CounterVec
	resets   *prometheus.CounterVec
	board    prometheus.Counter
	lost     prometheus.Counter
	rigErr   *prometheus.CounterVec
}

// NewMetrics registers the metrics; pool, if not nil, is reported as rig
// health gauges at every scrape.
func NewMetrics(pool *Pool) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hilchaos_runs_total",
			Help: "Runs finished, by verdict (pass, fail, error, inconclusive, ...)."}, []string{"verdict"}),
		resets: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hilchaos_resets_total",
			Help: "Board resets seen in finished runs, by kind."}, []string{"kind"}),
		board: prometheus.NewCounter(prometheus.CounterOpts{Name: "hilchaos_board_seconds_total",
			Help: "Board time of the finished runs, in seconds."}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{Name: "hilchaos_telemetry_lost_events_total",
			Help: "Trace events that did not arrive (sequence gaps and events the board dropped)."}),
		rigErr: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hilchaos_rig_errors_total",
			Help: "Tries of a run that ended in a rig error, by rig."}, []string{"rig"}),
	}
	m.Registry.MustRegister(m.runs, m.resets, m.board, m.lost, m.rigErr)
	if pool != nil {
		m.Registry.MustRegister(&healthCollector{pool: pool})
	}
	return m
}

// Observe counts a finished run.
func (m *Metrics) Observe(r *record.RunRecord) {
	m.runs.WithLabelValues(r.Verdict).Inc()
	rc := r.Resets
	for kind, n := range map[string]int{"watchdog": rc.Watchdog, "software": rc.Software, "power_on": rc.PowerOn,
		"hang": rc.Hang, "unknown": rc.Unknown, "expected": rc.Expected, "brick": rc.Brick, "power_cycle": rc.PowerCycle} {
		if n > 0 {
			m.resets.WithLabelValues(kind).Add(float64(n))
		}
	}
	if r.Verdict != record.Error {
		m.board.Add(float64(r.DurationUS) / 1e6)
	}
	m.lost.Add(float64(r.Telemetry.Lost))
	for _, a := range r.Attempts {
		m.rigErr.WithLabelValues(a.Rig).Inc()
	}
	if r.Verdict == record.Error && r.Rig != nil {
		m.rigErr.WithLabelValues(r.Rig.Name).Inc()
	}
}

// Serve serves /metrics on addr (":9464"; port 0 picks one) until the
// returned stop is called; the address is returned for messages.
func (m *Metrics) Serve(addr string) (string, func(), error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	return l.Addr().String(), func() { srv.Close() }, nil
}

var (
	rigRunsDesc = prometheus.NewDesc("hilchaos_rig_runs", "Runs done on the rig in this campaign (or since the agent started), by outcome.",
		[]string{"rig", "outcome"}, nil)
	rigQuarDesc = prometheus.NewDesc("hilchaos_rig_quarantined", "1 when the rig is quarantined.", []string{"rig"}, nil)
)

// healthCollector reports the pool's rig health at each scrape.
type healthCollector struct{ pool *Pool }

func (h *healthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- rigRunsDesc
	ch <- rigQuarDesc
}

func (h *healthCollector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range h.pool.Health() {
		name := r.Name
		if name == "" {
			name = r.Target
		}
		for outcome, n := range map[string]int{"passed": r.Passed, "failed": r.Failed, "error": r.Errors} {
			ch <- prometheus.MustNewConstMetric(rigRunsDesc, prometheus.GaugeValue, float64(n), name, outcome)
		}
		q := 0.0
		if r.Quarantined {
			q = 1
		}
		ch <- prometheus.MustNewConstMetric(rigQuarDesc, prometheus.GaugeValue, q, name)
	}
}
