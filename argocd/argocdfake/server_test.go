package argocdfake

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/argocd"
)

// get sends a GET with the server's token (or auth, if not empty) and returns the status,
// the Content-Type and the body.
func get(t *testing.T, s *Server, path, auth string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth == "" {
		auth = "Bearer " + s.Token()
	}
	if auth != "-" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

func shop() argocd.Application {
	return argocd.Application{
		Metadata: argocd.Metadata{Name: "staging-shop", Labels: map[string]string{"team": "checkout"}},
		Spec:     argocd.Spec{Project: "staging"},
		Status:   argocd.Status{Sync: argocd.SyncStatus{Status: argocd.Synced, Revision: "abc1234"}, Health: argocd.HealthStatus{Status: argocd.Healthy}},
	}
}

const shopJSON = `{"metadata":{"name":"staging-shop","labels":{"team":"checkout"}},"spec":{"project":"staging","destination":{}},"status":{"sync":{"status":"Synced","revision":"abc1234"},"health":{"status":"Healthy"}}}`

type answer struct {
	Status      int
	ContentType string
	Body        string
}

// TestWireShapes checks the bytes the fake answers with: the gateway's JSON.
func TestWireShapes(t *testing.T) {
	s := New(t)
	s.Set(shop())
	tests := []struct {
		name, path, auth string
		want             answer
	}{
		{"application", "/api/v1/applications/staging-shop", "", answer{200, "application/json", shopJSON}},
		{"list", "/api/v1/applications?selector=team%3Dcheckout", "", answer{200, "application/json", `{"metadata":{},"items":[` + shopJSON + `]}`}},
		{"empty list", "/api/v1/applications?selector=team%3Dnobody", "", answer{200, "application/json", `{"metadata":{},"items":null}`}},
		{"missing application", "/api/v1/applications/staging-nope", "", answer{403, "application/json", `{"code":7,"error":"permission denied","message":"permission denied"}`}},
		{"missing application in a project", "/api/v1/applications/staging-nope?project=staging", "", answer{404, "application/json", `{"code":5,"error":"applications.argoproj.io \"staging-nope\" not found","message":"applications.argoproj.io \"staging-nope\" not found"}`}},
		{"no token", "/api/v1/applications/staging-shop", "-", answer{401, "application/json", `{"code":16,"error":"no session information","message":"no session information"}`}},
		{"unknown route", "/api/v1/applications/staging-shop/resource-tree", "", answer{404, "application/json", `{"code":5,"error":"Not Found","message":"Not Found"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ct, body := get(t, s, tt.path, tt.auth)
			if diff := cmp.Diff(tt.want, answer{status, ct, body}); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStreamLines reads the stream line by line: one JSON object per line.
func TestStreamLines(t *testing.T) {
	s := New(t)
	s.Set(shop())
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+"/api/v1/stream/applications?selector=team%3Dcheckout", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	next := func() string {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("stream ended: %v", lines.Err())
		}
		return lines.Text()
	}
	if diff := cmp.Diff(`{"result":{"type":"ADDED","application":`+shopJSON+`}}`, next()); diff != "" {
		t.Errorf("first line (-want +got):\n%s", diff)
	}
	s.Delete("staging-shop")
	if diff := cmp.Diff(`{"result":{"type":"DELETED","application":`+shopJSON+`}}`, next()); diff != "" {
		t.Errorf("second line (-want +got):\n%s", diff)
	}
	s.FailStreams(http.StatusServiceUnavailable, "gone")
	if diff := cmp.Diff(`{"error":{"grpc_code":14,"http_code":503,"message":"gone","http_status":"Service Unavailable"}}`, next()); diff != "" {
		t.Errorf("error line (-want +got):\n%s", diff)
	}
	if lines.Scan() {
		t.Errorf("a line after the error: %s", lines.Text())
	}
}

// TestFaults: FailNext fails exactly n requests; Block holds requests until Release.
func TestFaults(t *testing.T) {
	s := New(t)
	s.Set(shop())
	s.FailNext(http.StatusInternalServerError, 2)
	var got []int
	for range 3 {
		status, _, _ := get(t, s, "/api/v1/applications/staging-shop", "")
		got = append(got, status)
	}
	if diff := cmp.Diff([]int{500, 500, 200}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}

	release := s.Block()
	answered := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+"/api/v1/applications", nil)
		req.Header.Set("Authorization", "Bearer "+s.Token())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.WaitForRequests(ctx, "/api/v1/applications", 1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-answered:
		t.Fatal("answered while blocked")
	default:
	}
	release()
	if status := <-answered; status != 200 {
		t.Errorf("status %d after release, want 200", status)
	}
	if n := s.Requests("/api/v1/applications/staging-shop"); n != 3 {
		t.Errorf("%d requests counted, want 3", n)
	}
}
