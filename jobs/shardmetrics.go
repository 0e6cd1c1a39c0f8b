package jobs

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ShardMetrics are the Prometheus metrics of a bake worker, which renders
// the shards of distributed builds (see docs/scale-out.md). Summed over
// the workers, rate(bake_shard_pages_total[1m]) is the pages a second of
// the whole build. A nil *ShardMetrics records nothing.
type ShardMetrics struct {
	shards   *prometheus.CounterVec
	pages    prometheus.Counter
	bytes    prometheus.Counter
	duration prometheus.Histogram
	builds   *prometheus.CounterVec
	copies   *prometheus.CounterVec
}

// NewShardMetrics makes a worker's metrics and registers them with reg.
func NewShardMetrics(reg prometheus.Registerer) *ShardMetrics {
	m := &ShardMetrics{
		shards: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bake_shards_total",
			Help: "Shards of distributed builds this worker finished, by outcome (ok, error, problems: the build failed).",
		}, []string{"outcome"}),
		pages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bake_shard_pages_total",
			Help: "Pages this worker rendered and staged for distributed builds.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bake_shard_bytes_total",
			Help: "Bytes of the pages this worker rendered for distributed builds.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bake_shard_duration_seconds",
			Help:    "Time a shard took this worker, from its claim to its record.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		builds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bake_distributed_builds_total",
			Help: "Distributed builds this worker finished (published, or failed in the publish), by outcome.",
		}, []string{"outcome"}),
		copies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bake_publish_copies_total",
			Help: "Objects this worker copied server-side, from their staged published form to their key, while a distributed build went live, by outcome (ok, missing: not staged, uploaded by the finishing job).",
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.shards, m.pages, m.bytes, m.duration, m.builds, m.copies)
	return m
}

// Shard records a shard this worker finished: outcome is "ok", "error"
// (to be tried again) or "problems" (the build failed).
func (m *ShardMetrics) Shard(outcome string, d time.Duration, pages int, bytes int64) {
	if m == nil {
		return
	}
	m.shards.WithLabelValues(outcome).Inc()
	m.duration.Observe(d.Seconds())
	m.pages.Add(float64(pages))
	m.bytes.Add(float64(bytes))
}

// Build records a distributed build this worker published ("ok") or
// failed to publish ("error").
func (m *ShardMetrics) Build(outcome string) {
	if m == nil {
		return
	}
	m.builds.WithLabelValues(outcome).Inc()
}

// Copies records the server-side copies of one part of a publish: ok
// copied, missing not staged.
func (m *ShardMetrics) Copies(ok, missing int) {
	if m == nil {
		return
	}
	m.copies.WithLabelValues("ok").Add(float64(ok))
	m.copies.WithLabelValues("missing").Add(float64(missing))
}
