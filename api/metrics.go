package api

import (
	"bytes"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// MetricFunc is a value another part of the program shows on /metrics, read at every
// scrape, e.g. the number of env-repo changes waiting to be pushed.
type MetricFunc struct {
	Name string // a Prometheus metric name, e.g. kuberpult_outbox_pending
	Help string // one line saying what it measures
	Type string // "gauge" (the default when empty), "counter", "untyped" or "histogram"
	// Labels are constant labels of a gauge, counter or untyped value, e.g. replica.
	Labels map[string]string
	Value  func() float64
	// Histogram is the value of a "histogram" (Value is not used then).
	Histogram func() Histogram
}

// Histogram is a Prometheus histogram: the count of observations at or below each upper
// bound (cumulative, bounds ascending), their sum and their count.
type Histogram struct {
	Bounds []float64
	Counts []uint64 // cumulative, one per bound
	Sum    float64
	Count  uint64
}

const (
	requestsMetric = "kuberpult_http_requests_total"
	releasesMetric = "kuberpult_releases_total"
)

var metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// metrics holds the API's counters and the extra values from Options.Metrics.
type metrics struct {
	mu       sync.Mutex
	requests map[requestKey]uint64
	releases map[string]uint64
	extra    []MetricFunc
}

type requestKey struct {
	route  string
	method string
	code   int
}

// newMetrics keeps the valid extra metrics and logs the others.
func newMetrics(extra []MetricFunc, log *slog.Logger) *metrics {
	m := &metrics{requests: map[requestKey]uint64{}, releases: map[string]uint64{}}
	for _, o := range releaseOutcomes {
		m.releases[o] = 0
	}
	seen := map[string]bool{requestsMetric: true, releasesMetric: true}
	for _, mf := range extra {
		if mf.Type == "" {
			mf.Type = "gauge"
		}
		var problem string
		switch {
		case !metricNameRE.MatchString(mf.Name):
			problem = "invalid name"
		case seen[mf.Name]:
			problem = "duplicate name"
		case mf.Type != "gauge" && mf.Type != "counter" && mf.Type != "untyped" && mf.Type != "histogram":
			problem = "type must be gauge, counter, untyped or histogram"
		case mf.Type == "histogram" && mf.Histogram == nil:
			problem = "no histogram function"
		case mf.Type != "histogram" && mf.Value == nil:
			problem = "no value function"
		case mf.Type == "histogram" && len(mf.Labels) > 0:
			problem = "labels on a histogram"
		}
		for l := range mf.Labels {
			if !labelNameRE.MatchString(l) || strings.HasPrefix(l, "__") || l == "le" {
				problem = "invalid label name " + strconv.Quote(l)
			}
		}
		if problem != "" {
			log.Warn("metric dropped", "metric", mf.Name, "problem", problem)
			continue
		}
		seen[mf.Name] = true
		m.extra = append(m.extra, mf)
	}
	sort.Slice(m.extra, func(i, j int) bool { return m.extra[i].Name < m.extra[j].Name })
	return m
}

func (m *metrics) countRequest(route, method string, code int) {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions:
	default:
		method = "other" // keeps the label set small whatever clients send
	}
	m.mu.Lock()
	m.requests[requestKey{route, method, code}]++
	m.mu.Unlock()
}

func (m *metrics) countRelease(outcome string) {
	m.mu.Lock()
	m.releases[outcome]++
	m.mu.Unlock()
}

// write renders every metric in the Prometheus text exposition format, version 0.0.4.
func (m *metrics) write(b *bytes.Buffer) {
	m.mu.Lock()
	reqs := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		reqs = append(reqs, k)
	}
	sort.Slice(reqs, func(i, j int) bool {
		if reqs[i].route != reqs[j].route {
			return reqs[i].route < reqs[j].route
		}
		if reqs[i].method != reqs[j].method {
			return reqs[i].method < reqs[j].method
		}
		return reqs[i].code < reqs[j].code
	})
	header(b, requestsMetric, "HTTP requests answered, by route, method and status code.", "counter")
	for _, k := range reqs {
		fmt.Fprintf(b, "%s{route=%s,method=%s,code=\"%d\"} %d\n", requestsMetric, labelValue(k.route), labelValue(k.method), k.code, m.requests[k])
	}
	outcomes := make([]string, 0, len(m.releases))
	for o := range m.releases {
		outcomes = append(outcomes, o)
	}
	sort.Strings(outcomes)
	header(b, releasesMetric, "Release requests, by outcome.", "counter")
	for _, o := range outcomes {
		fmt.Fprintf(b, "%s{outcome=%s} %d\n", releasesMetric, labelValue(o), m.releases[o])
	}
	m.mu.Unlock()

	for _, mf := range m.extra { // read outside the lock: a slow value never blocks counting
		header(b, mf.Name, mf.Help, mf.Type)
		if mf.Type == "histogram" {
			h := mf.Histogram()
			for i, le := range h.Bounds {
				fmt.Fprintf(b, "%s_bucket{le=\"%s\"} %d\n", mf.Name, formatValue(le), h.Counts[i])
			}
			fmt.Fprintf(b, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %s\n%s_count %d\n", mf.Name, h.Count, mf.Name, formatValue(h.Sum), mf.Name, h.Count)
			continue
		}
		fmt.Fprintf(b, "%s%s %s\n", mf.Name, labelSet(mf.Labels), formatValue(mf.Value()))
	}
}

// labelSet renders constant labels in name order: {a="1",b="2"}; "" without any.
func labelSet(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	names := make([]string, 0, len(labels))
	for n := range labels {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + labelValue(labels[n])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func header(b *bytes.Buffer, name, help, typ string) {
	if help == "" {
		help = name
	}
	fmt.Fprintf(b, "# HELP %s %s\n", name, helpText(help))
	fmt.Fprintf(b, "# TYPE %s %s\n", name, typ)
}

// helpText escapes a HELP line: backslash and line feed.
func helpText(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

// labelValue quotes a label value: backslash, double quote and line feed are escaped.
func labelValue(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func (s *Server) handleMetrics(w http.ResponseWriter, _ *http.Request) {
	var b bytes.Buffer
	s.metrics.write(&b)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}
