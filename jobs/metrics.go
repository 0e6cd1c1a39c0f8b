package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
)

// Metrics are the pipeline's Prometheus metrics, named bake_*. A nil
// *Metrics records nothing.
type Metrics struct {
	jobs        *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	pages       prometheus.Counter
	written     prometheus.Counter
	bytesSent   *prometheus.CounterVec
	lastPublish *prometheus.GaugeVec
}

// NewMetrics makes the pipeline's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bake_jobs_total",
			Help: "Jobs finished, by kind and outcome (ok, error).",
		}, []string{"kind", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bake_job_duration_seconds",
			Help:    "Time a job ran, by kind.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900},
		}, []string{"kind"}),
		pages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bake_pages_rendered_total",
			Help: "Pages rendered by builds.",
		}),
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bake_files_written_total",
			Help: "Files whose bytes a build changed.",
		}),
		bytesSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bake_publish_bytes_sent_total",
			Help: "Bytes sent to targets by publishes, by target.",
		}, []string{"target"}),
		lastPublish: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bake_last_publish_success_timestamp_seconds",
			Help: "Unix time of the last successful publish, by target.",
		}, []string{"target"}),
	}
	reg.MustRegister(m.jobs, m.duration, m.pages, m.written, m.bytesSent, m.lastPublish)
	return m
}

func (m *Metrics) observe(kind string, d time.Duration, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.jobs.WithLabelValues(kind, outcome).Inc()
	m.duration.WithLabelValues(kind).Observe(d.Seconds())
}

func (m *Metrics) built(r BuildResult) {
	if m == nil {
		return
	}
	m.pages.Add(float64(r.Pages))
	m.written.Add(float64(r.Written))
}

func (m *Metrics) published(target string, r PublishResult, now time.Time) {
	if m == nil {
		return
	}
	m.bytesSent.WithLabelValues(target).Add(float64(r.BytesSent))
	m.lastPublish.WithLabelValues(target).Set(float64(now.Unix()))
}

// Migrate creates or updates River's tables in the database of driver
// (in schema, if not empty).
func Migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], schema string) error {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Schema: schema})
	if err != nil {
		return fmt.Errorf("migrate job tables: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate job tables: %w", err)
	}
	return nil
}
