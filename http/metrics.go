package http

import (
	"net/http"
	"regexp"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are weft's Prometheus metrics. Label values that come from alert
// content (the source) are bounded: after maxSourceLabels distinct values,
// further sources count as "other", so that a sender cannot blow up the
// number of series.
type metrics struct {
	alertsIngested    *prometheus.CounterVec // source, outcome
	alertsRejected    *prometheus.CounterVec // reason
	bodiesRejected    *prometheus.CounterVec // reason
	ingestSeconds     prometheus.Histogram
	storeSeconds      *prometheus.HistogramVec // op
	storeErrors       *prometheus.CounterVec   // op
	commitWaitSeconds prometheus.Histogram
	batchAlerts       prometheus.Histogram

	mu      sync.Mutex
	sources map[string]bool
}

const maxSourceLabels = 64

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		alertsIngested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weft_alerts_ingested_total",
			Help: "Alerts accepted by ingest, by source and outcome (stored, updated, duplicate, stale).",
		}, []string{"source", "outcome"}),
		alertsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weft_alerts_rejected_total",
			Help: "Alert records rejected by ingest, by source (\"unknown\" when the record was refused before its source was read) and reason (the field at fault, \"record\" for the record as a whole).",
		}, []string{"source", "reason"}),
		bodiesRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weft_ingest_bodies_rejected_total",
			Help: "Ingest requests refused as a whole, by reason.",
		}, []string{"reason"}),
		ingestSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "weft_ingest_request_duration_seconds",
			Help:    "Time to answer one ingest request, from receipt to durable commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		storeSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "weft_store_duration_seconds",
			Help:    "Time spent in store operations, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"op"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weft_store_errors_total",
			Help: "Store operations that failed, by operation.",
		}, []string{"op"}),
		commitWaitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "weft_ingest_commit_wait_seconds",
			Help:    "Time an ingest request waits for its records to be committed (queueing plus the store's transaction).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}),
		batchAlerts: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "weft_store_batch_alerts",
			Help:    "Alerts per store transaction (group commit).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		}),
		sources: map[string]bool{},
	}
	reg.MustRegister(m.alertsIngested, m.alertsRejected, m.bodiesRejected, m.ingestSeconds, m.storeSeconds, m.storeErrors, m.commitWaitSeconds, m.batchAlerts)
	// The default collectors may already be registered by the caller.
	_ = reg.Register(collectors.NewGoCollector())
	_ = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

func (m *metrics) ingested(source, outcome string) {
	m.alertsIngested.WithLabelValues(m.sourceLabel(source), outcome).Inc()
}

// indexPattern removes list indexes from a field path ("evidence[3].verdict"
// → "evidence[].verdict") so that rejection reasons stay a bounded set.
var indexPattern = regexp.MustCompile(`\[\d+\]`)

func (m *metrics) reject(source, field string) {
	reason := indexPattern.ReplaceAllString(field, "[]")
	if reason == "" {
		reason = "record"
	}
	if source == "" {
		source = "unknown"
	}
	if len(reason) > 64 {
		reason = "other"
	}
	m.alertsRejected.WithLabelValues(m.sourceLabel(source), reason).Inc()
}

func (m *metrics) rejectBody(reason string) {
	m.bodiesRejected.WithLabelValues(reason).Inc()
}

func (m *metrics) sourceLabel(source string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sources[source] {
		return source
	}
	if len(m.sources) >= maxSourceLabels || len(source) > 64 {
		return "other"
	}
	m.sources[source] = true
	return source
}
