package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func newJSONLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func get(t *testing.T, srv interface{ Client() *http.Client }, method, url string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func TestProbesAndRouting(t *testing.T) {
	type answer struct {
		Status      int
		Allow       string
		ContentType string
		Body        string
	}
	notReady := func(context.Context) ([]string, error) { return nil, errors.New("database is locked") }
	ready := func(context.Context) ([]string, error) { return nil, nil }
	gitDown := func(context.Context) ([]string, error) {
		return []string{"env repo: unreachable: dial tcp: connection refused", "outbox: 3 changes waiting"}, nil
	}
	tests := []struct {
		name   string
		ready  func(context.Context) ([]string, error)
		method string
		path   string
		want   answer
	}{
		{"healthz", notReady, "GET", "/healthz", answer{200, "", "text/plain; charset=utf-8", "ok\n"}},
		{"healthz head", nil, "HEAD", "/healthz", answer{200, "", "text/plain; charset=utf-8", ""}},
		{"readyz without a check", nil, "GET", "/readyz", answer{200, "", "text/plain; charset=utf-8", "ok\n"}},
		{"readyz ready", ready, "GET", "/readyz", answer{200, "", "text/plain; charset=utf-8", "ok\n"}},
		{"readyz failing", notReady, "GET", "/readyz",
			answer{503, "", "text/plain; charset=utf-8", "not ready: database is locked\n"}},
		{"readyz with git down: ready, and says so", gitDown, "GET", "/readyz",
			answer{200, "", "text/plain; charset=utf-8", "ok\nenv repo: unreachable: dial tcp: connection refused\noutbox: 3 changes waiting\n"}},
		{"release with GET", nil, "GET", "/api/release", answer{405, "POST", "application/json",
			`{"error":"method GET is not allowed on /api/release; use POST"}` + "\n"}},
		{"legacy release with PUT", nil, "PUT", "/release", answer{405, "POST", "application/json",
			`{"error":"method PUT is not allowed on /release; use POST"}` + "\n"}},
		{"healthz with POST", nil, "POST", "/healthz", answer{405, "GET, HEAD", "application/json",
			`{"error":"method POST is not allowed on /healthz; use GET or HEAD"}` + "\n"}},
		{"unknown path", nil, "GET", "/api/releases", answer{404, "", "application/json",
			`{"error":"no such endpoint: /api/releases"}` + "\n"}},
		{"a trailing slash is the same path, as in Kuberpult", nil, "POST", "/api/release/", answer{415, "", "application/json",
			`{"error":"the body must be multipart/form-data with a boundary (e.g. curl --form)"}` + "\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, Options{Handler: &recordingReleaser{}, Ready: tt.ready})
			status, h, body := get(t, srv, tt.method, srv.URL+tt.path)
			got := answer{status, h.Get("Allow"), h.Get("Content-Type"), body}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

// exposition is a parsed /metrics page.
type exposition struct {
	Help    map[string]string
	Type    map[string]string
	Samples map[string]string // `name{labels}` → value
}

var sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$`)

// parseExposition checks the text format line by line: every sample belongs to a family
// declared before it with HELP and TYPE, and every value is a float.
func parseExposition(t *testing.T, text string) exposition {
	t.Helper()
	e := exposition{Help: map[string]string{}, Type: map[string]string{}, Samples: map[string]string{}}
	if !strings.HasSuffix(text, "\n") {
		t.Errorf("exposition does not end with a line feed")
	}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "# HELP "):
			name, help, _ := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
			e.Help[name] = help
		case strings.HasPrefix(line, "# TYPE "):
			name, typ, _ := strings.Cut(strings.TrimPrefix(line, "# TYPE "), " ")
			if typ != "counter" && typ != "gauge" && typ != "untyped" {
				t.Errorf("line %d: type %q", i+1, typ)
			}
			e.Type[name] = typ
		default:
			m := sampleRE.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("line %d is not a sample: %q", i+1, line)
				continue
			}
			if e.Help[m[1]] == "" || e.Type[m[1]] == "" {
				t.Errorf("line %d: sample of %s before its HELP and TYPE", i+1, m[1])
			}
			if _, err := strconv.ParseFloat(m[3], 64); err != nil {
				t.Errorf("line %d: value %q: %v", i+1, m[3], err)
			}
			e.Samples[m[1]+m[2]] = m[3]
		}
	}
	return e
}

func TestMetrics(t *testing.T) {
	var logs bytes.Buffer
	srv := startServer(t, Options{
		Handler: &recordingReleaser{result: created()},
		Logger:  newJSONLogger(&logs),
		Metrics: []MetricFunc{
			{Name: "kuberpult_outbox_pending", Help: "Env-repo changes waiting to be pushed.", Value: func() float64 { return 3 }},
			{Name: "kuberpult_git_last_push_seconds", Help: "Time of the last push.\nUnix seconds.", Type: "gauge", Value: func() float64 { return 1.7e9 }},
			{Name: "bad name", Help: "dropped", Value: func() float64 { return 1 }},
			{Name: "kuberpult_releases_total", Help: "clashes with a built-in", Value: func() float64 { return 1 }},
		},
	})
	ct, body := buildForm(cliRelease{Application: "checkout", Version: ptr(uint64(42)),
		Manifests: map[string]string{"development": "kind: Deployment\n"}}.parts())
	post(t, srv, "/api/release", nil, ct, body)
	post(t, srv, "/release", nil, ct, body[:10])
	get(t, srv, "GET", srv.URL+"/nowhere")
	get(t, srv, "GET", srv.URL+"/api/release")

	status, h, text := get(t, srv, "GET", srv.URL+"/metrics")
	if status != 200 || h.Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("status %d, Content-Type %q", status, h.Get("Content-Type"))
	}
	got := parseExposition(t, text)
	want := exposition{
		Help: map[string]string{
			"kuberpult_http_requests_total":   "HTTP requests answered, by route, method and status code.",
			"kuberpult_releases_total":        "Release requests, by outcome.",
			"kuberpult_outbox_pending":        "Env-repo changes waiting to be pushed.",
			"kuberpult_git_last_push_seconds": `Time of the last push.\nUnix seconds.`,
		},
		Type: map[string]string{
			"kuberpult_http_requests_total": "counter", "kuberpult_releases_total": "counter",
			"kuberpult_outbox_pending": "gauge", "kuberpult_git_last_push_seconds": "gauge",
		},
		Samples: map[string]string{
			`kuberpult_http_requests_total{route="/api/release",method="POST",code="201"}`: "1",
			`kuberpult_http_requests_total{route="/api/release",method="GET",code="405"}`:  "1",
			`kuberpult_http_requests_total{route="/release",method="POST",code="400"}`:     "1",
			`kuberpult_http_requests_total{route="unknown",method="GET",code="404"}`:       "1",
			`kuberpult_releases_total{outcome="already_exists"}`:                           "0",
			`kuberpult_releases_total{outcome="conflict"}`:                                 "0",
			`kuberpult_releases_total{outcome="created"}`:                                  "1",
			`kuberpult_releases_total{outcome="denied"}`:                                   "0",
			`kuberpult_releases_total{outcome="error"}`:                                    "0",
			`kuberpult_releases_total{outcome="invalid"}`:                                  "1",
			`kuberpult_releases_total{outcome="not_found"}`:                                "0",
			`kuberpult_releases_total{outcome="unauthorized"}`:                             "0",
			`kuberpult_outbox_pending`:                                                     "3",
			`kuberpult_git_last_push_seconds`:                                              "1.7e+09",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s\n%s", diff, text)
	}
	if n := strings.Count(logs.String(), `"msg":"metric dropped"`); n != 2 {
		t.Errorf("want 2 dropped metrics logged, got %d:\n%s", n, logs.String())
	}
}

func TestMetricValueFormats(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{{0, "0"}, {-2.5, "-2.5"}, {1e21, "1e+21"}, {math.NaN(), "NaN"}, {math.Inf(1), "+Inf"}, {math.Inf(-1), "-Inf"}}
	for _, tt := range tests {
		if got := formatValue(tt.v); got != tt.want {
			t.Errorf("formatValue(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
	if got, want := labelValue("a\\b\"c\nd"), `"a\\b\"c\nd"`; got != want {
		t.Errorf("labelValue = %s, want %s", got, want)
	}
}

func TestMetricLabels(t *testing.T) {
	m := newMetrics([]MetricFunc{
		{Name: "kuberpult_leader", Labels: map[string]string{"replica": `pod "a"`, "b": "2"}, Value: func() float64 { return 1 }},
		{Name: "bad_label", Labels: map[string]string{"le": "x"}, Value: func() float64 { return 1 }},
		{Name: "bad_label2", Labels: map[string]string{"0x": "x"}, Value: func() float64 { return 1 }},
	}, slog.New(slog.DiscardHandler))
	var b bytes.Buffer
	m.write(&b)
	if want := `kuberpult_leader{b="2",replica="pod \"a\""} 1` + "\n"; !strings.Contains(b.String(), want) {
		t.Errorf("metrics lack %q:\n%s", want, b.String())
	}
	if strings.Contains(b.String(), "bad_label") {
		t.Errorf("a metric with an invalid label name was shown:\n%s", b.String())
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	rel := &recordingReleaser{result: created(), entered: make(chan struct{}), proceed: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- New(Options{Handler: rel}).Serve(ctx, ln) }()

	url := "http://" + ln.Addr().String()
	ct, body := buildForm(cliRelease{Application: "checkout", Version: ptr(uint64(42)),
		Manifests: map[string]string{"development": "kind: Deployment\n"}}.parts())
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Post(url+"/api/release", ct, bytes.NewReader(body))
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-rel.entered // the release is in flight
	cancel()
	close(rel.proceed)
	if status := <-answered; status != http.StatusCreated {
		t.Errorf("request in flight during shutdown: status %d, want 201", status)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Errorf("server still answers after shutdown")
	}
}

func TestRun(t *testing.T) {
	s := New(Options{Handler: &recordingReleaser{}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx, "127.0.0.1:0"); err != nil {
		t.Errorf("Run with a cancelled context = %v, want nil", err)
	}
	if err := s.Run(context.Background(), "127.0.0.1:99999"); err == nil {
		t.Errorf("Run on an address it cannot listen on = nil, want an error")
	}
}

func TestNewDefaults(t *testing.T) {
	s := New(Options{Handler: &recordingReleaser{}})
	if s.maxBytes != 32<<20 {
		t.Errorf("default body limit = %d, want 32 MiB", s.maxBytes)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("New without a Releaser did not panic")
		}
	}()
	New(Options{})
}
