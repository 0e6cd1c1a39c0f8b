package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
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

// Collector returns a Prometheus collector of the pipeline's queue, read
// at each scrape: bake_jobs{state} (jobs waiting, scheduled, running,
// retryable after a failure, and discarded after their last attempt;
// counted up to 1,000 each) and bake_queue_lag_seconds (how long the
// oldest job ready to run has waited: a stuck pipeline shows here).
func (p *Pipeline[TTx]) Collector() prometheus.Collector {
	return &queueCollector[TTx]{p: p,
		jobs: prometheus.NewDesc("bake_jobs", "Jobs in the queue by state (counted up to 1,000).", []string{"state"}, nil),
		lag:  prometheus.NewDesc("bake_queue_lag_seconds", "How long the oldest job ready to run has waited.", nil, nil),
	}
}

type queueCollector[TTx any] struct {
	p         *Pipeline[TTx]
	jobs, lag *prometheus.Desc
}

func (c *queueCollector[TTx]) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.lag
}

// countedStates are the states bake_jobs reports.
var countedStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateDiscarded,
}

func (c *queueCollector[TTx]) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, st := range countedStates {
		res, err := c.p.client.JobList(ctx, river.NewJobListParams().States(st).First(1000))
		if err != nil {
			c.p.log.Warn("count jobs for the metrics", "state", st, "err", err)
			return
		}
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(len(res.Jobs)), string(st))
	}
	lag := 0.0
	res, err := c.p.client.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateAvailable).
		OrderBy(river.JobListOrderByScheduledAt, river.SortOrderAsc).First(1))
	if err == nil && len(res.Jobs) > 0 {
		lag = max(0, c.p.cfg.Now().Sub(res.Jobs[0].ScheduledAt).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, lag)
}
