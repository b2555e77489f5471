package githubfake_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/github/githubfake"
)

const repo = "acme/shop"

// sha makes a distinct full commit SHA.
func sha(i int) string {
	sum := sha1.Sum([]byte("commit " + strconv.Itoa(i)))
	return hex.EncodeToString(sum[:])
}

var baseDate = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// newFake starts a fake with n commits sha(0) ... sha(n-1). Every odd commit
// is authored by the GitHub user "alice"; the even ones belong to no user.
func newFake(t *testing.T, n int) *githubfake.Server {
	t.Helper()
	s := githubfake.New(t, repo)
	for i := 0; i < n; i++ {
		c := githubfake.Commit{
			SHA:         sha(i),
			Message:     fmt.Sprintf("commit %d\n\nbody %d", i, i),
			AuthorName:  "Author " + strconv.Itoa(i),
			AuthorEmail: fmt.Sprintf("a%d@example.com", i),
			Date:        baseDate.Add(time.Duration(i) * time.Minute),
		}
		if i%2 == 1 {
			c.AuthorLogin = "alice"
		}
		s.AddCommit(c)
	}
	return s
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// call sends a request with the fake's token to the API path (after /api/v3).
func call(t *testing.T, s *githubfake.Server, method, path, body string) response {
	t.Helper()
	return callAuth(t, s, method, s.URL()+"/api/v3"+path, body, "Bearer "+s.Token())
}

func callAuth(t *testing.T, s *githubfake.Server, method, url, body, auth string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type %q", method, url, ct)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	return v
}

// trimTo drops from got everything want does not mention, recursively, so
// that cmp.Diff(want, trimTo(want, got)) compares only the mentioned fields.
func trimTo(want, got any) any {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return got
		}
		out := map[string]any{}
		for k, wv := range w {
			if gv, ok := g[k]; ok {
				out[k] = trimTo(wv, gv)
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return got
		}
		out := make([]any, len(g))
		for i := range g {
			out[i] = trimTo(w[i], g[i])
		}
		return out
	default:
		return got
	}
}

func checkError(t *testing.T, r response, status int, message string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	got := decode[map[string]any](t, r)
	if got["message"] != message {
		t.Errorf("message %q, want %q", got["message"], message)
	}
	if _, ok := got["documentation_url"].(string); !ok {
		t.Errorf("no documentation_url in %s", r.body)
	}
}

type compareResp struct {
	URL             string `json:"url"`
	HTMLURL         string `json:"html_url"`
	Status          string `json:"status"`
	AheadBy         int    `json:"ahead_by"`
	BehindBy        int    `json:"behind_by"`
	TotalCommits    int    `json:"total_commits"`
	MergeBaseCommit struct {
		SHA string `json:"sha"`
	} `json:"merge_base_commit"`
	Commits []struct {
		SHA string `json:"sha"`
	} `json:"commits"`
	Files []any `json:"files"`
}

func (c compareResp) shas() []string {
	out := []string{}
	for _, x := range c.Commits {
		out = append(out, x.SHA)
	}
	return out
}

func TestCompare(t *testing.T) {
	s := newFake(t, 5)
	for _, tc := range []struct {
		name, basehead           string
		status                   string
		ahead, behind, total     int
		commits                  []string
		mergeBase                string
		wantStatus               int
		wantErrMsg, wantHTMLPath string
	}{
		{name: "ahead", basehead: sha(0) + "..." + sha(3), status: "ahead", ahead: 3, total: 3,
			commits: []string{sha(1), sha(2), sha(3)}, mergeBase: sha(0),
			wantHTMLPath: "/compare/" + sha(0) + "..." + sha(3)},
		{name: "two dots", basehead: sha(0) + ".." + sha(3), status: "ahead", ahead: 3, total: 3,
			commits: []string{sha(1), sha(2), sha(3)}, mergeBase: sha(0)},
		{name: "prefixes", basehead: sha(1)[:7] + "..." + sha(4)[:12], status: "ahead", ahead: 3, total: 3,
			commits: []string{sha(2), sha(3), sha(4)}, mergeBase: sha(1),
			wantHTMLPath: "/compare/" + sha(1)[:7] + "..." + sha(4)[:12]},
		{name: "behind", basehead: sha(3) + "..." + sha(1), status: "behind", behind: 2,
			commits: []string{}, mergeBase: sha(1)},
		{name: "identical", basehead: sha(2) + "..." + sha(2), status: "identical",
			commits: []string{}, mergeBase: sha(2)},
		{name: "unknown base", basehead: sha(99) + "..." + sha(2), wantStatus: 404, wantErrMsg: "Not Found"},
		{name: "unknown head", basehead: sha(0) + "..." + sha(99)[:10], wantStatus: 404, wantErrMsg: "Not Found"},
		{name: "prefix too short", basehead: sha(0)[:6] + "..." + sha(2), wantStatus: 404, wantErrMsg: "Not Found"},
		{name: "no separator", basehead: sha(0), wantStatus: 404, wantErrMsg: "Not Found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, s, "GET", "/repos/acme/shop/compare/"+tc.basehead, "")
			if tc.wantStatus != 0 {
				checkError(t, r, tc.wantStatus, tc.wantErrMsg)
				return
			}
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			got := decode[compareResp](t, r)
			if got.Status != tc.status || got.AheadBy != tc.ahead || got.BehindBy != tc.behind || got.TotalCommits != tc.total {
				t.Errorf("status/ahead/behind/total = %s/%d/%d/%d, want %s/%d/%d/%d",
					got.Status, got.AheadBy, got.BehindBy, got.TotalCommits, tc.status, tc.ahead, tc.behind, tc.total)
			}
			if diff := cmp.Diff(tc.commits, got.shas()); diff != "" {
				t.Errorf("commits (-want +got):\n%s", diff)
			}
			if got.MergeBaseCommit.SHA != tc.mergeBase {
				t.Errorf("merge_base_commit %s, want %s", got.MergeBaseCommit.SHA, tc.mergeBase)
			}
			if got.Files == nil {
				t.Errorf("files is not an array: %s", r.body)
			}
			if tc.wantHTMLPath != "" && got.HTMLURL != "https://github.com/acme/shop"+tc.wantHTMLPath {
				t.Errorf("html_url %s", got.HTMLURL)
			}
			if r.header.Get("Link") != "" {
				t.Errorf("unexpected Link %q", r.header.Get("Link"))
			}
		})
	}
}

func TestCompareWireShape(t *testing.T) {
	s := newFake(t, 3)
	r := call(t, s, "GET", "/repos/acme/shop/compare/"+sha(0)+"..."+sha(2), "")
	got := decode[map[string]any](t, r)
	for _, k := range []string{"url", "html_url", "permalink_url", "base_commit", "merge_base_commit",
		"status", "ahead_by", "behind_by", "total_commits", "commits", "files"} {
		if _, ok := got[k]; !ok {
			t.Errorf("compare answer lacks %q", k)
		}
	}
	api := s.URL() + "/api/v3/repos/acme/shop"
	want := map[string]any{
		"url":           api + "/compare/" + sha(0) + "..." + sha(2),
		"html_url":      "https://github.com/acme/shop/compare/" + sha(0) + "..." + sha(2),
		"permalink_url": "https://github.com/acme/shop/compare/acme:" + sha(0) + "...acme:" + sha(2),
		"files":         []any{},
		"base_commit":   map[string]any{"sha": sha(0), "parents": []any{}, "author": nil},
		"commits": []any{
			map[string]any{ // authored by alice
				"sha":      sha(1),
				"url":      api + "/commits/" + sha(1),
				"html_url": "https://github.com/acme/shop/commit/" + sha(1),
				"commit": map[string]any{
					"message":   "commit 1\n\nbody 1",
					"author":    map[string]any{"name": "Author 1", "email": "a1@example.com", "date": "2024-03-01T12:01:00Z"},
					"committer": map[string]any{"name": "Author 1", "email": "a1@example.com", "date": "2024-03-01T12:01:00Z"},
				},
				"author":    map[string]any{"login": "alice", "html_url": "https://github.com/alice", "type": "User"},
				"committer": map[string]any{"login": "alice", "type": "User"},
				"parents":   []any{map[string]any{"sha": sha(0), "url": api + "/commits/" + sha(0)}},
			},
			map[string]any{ // belongs to no GitHub user
				"sha":       sha(2),
				"author":    nil,
				"committer": nil,
				"parents":   []any{map[string]any{"sha": sha(1)}},
			},
		},
	}
	if diff := cmp.Diff(want, trimTo(want, got)); diff != "" {
		t.Errorf("compare answer (-want +got):\n%s", diff)
	}
	commits := got["commits"].([]any)
	alice := commits[0].(map[string]any)["author"].(map[string]any)
	if id, ok := alice["id"].(float64); !ok || id <= 0 {
		t.Errorf("author id %v", alice["id"])
	}
	for _, k := range []string{"node_id", "sha", "url", "html_url", "commit", "author", "committer", "parents"} {
		if _, ok := commits[1].(map[string]any)[k]; !ok {
			t.Errorf("commit lacks %q", k)
		}
	}
}

var linkRE = regexp.MustCompile(`<([^>]+)>; rel="(\w+)"`)

func links(h http.Header) map[string]string {
	out := map[string]string{}
	for _, m := range linkRE.FindAllStringSubmatch(h.Get("Link"), -1) {
		out[m[2]] = m[1]
	}
	return out
}

func TestComparePaging(t *testing.T) {
	s := newFake(t, 300) // 299 commits ahead of the root
	path := "/repos/acme/shop/compare/" + sha(0) + "..." + sha(299)
	wantRange := func(from, to int) []string {
		var out []string
		for i := from; i <= to; i++ {
			out = append(out, sha(i))
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		query     string
		commits   []string
		wantLinks map[string]string // rel -> page
	}{
		{name: "default page of 250", query: "", commits: wantRange(1, 250),
			wantLinks: map[string]string{"next": "2", "last": "2"}},
		{name: "second default page", query: "?page=2", commits: wantRange(251, 299),
			wantLinks: map[string]string{"prev": "1", "first": "1"}},
		{name: "per_page 100 page 2", query: "?per_page=100&page=2", commits: wantRange(101, 200),
			wantLinks: map[string]string{"prev": "1", "next": "3", "last": "3", "first": "1"}},
		{name: "per_page capped at 250", query: "?per_page=1000", commits: wantRange(1, 250),
			wantLinks: map[string]string{"next": "2", "last": "2"}},
		{name: "past the end", query: "?per_page=100&page=9", commits: nil,
			wantLinks: map[string]string{"prev": "3", "first": "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, s, "GET", path+tc.query, "")
			got := decode[compareResp](t, r)
			if got.TotalCommits != 299 || got.AheadBy != 299 {
				t.Errorf("total_commits %d ahead_by %d, want 299", got.TotalCommits, got.AheadBy)
			}
			want := tc.commits
			if want == nil {
				want = []string{}
			}
			if diff := cmp.Diff(want, got.shas()); diff != "" {
				t.Errorf("commits (-want +got):\n%s", diff)
			}
			gotLinks := map[string]string{}
			for rel, u := range links(r.header) {
				if !strings.HasPrefix(u, s.URL()+"/api/v3"+path+"?") {
					t.Errorf("link %s = %s", rel, u)
				}
				m := regexp.MustCompile(`[?&]page=(\d+)`).FindStringSubmatch(u)
				if m == nil {
					t.Errorf("link %s has no page: %s", rel, u)
					continue
				}
				gotLinks[rel] = m[1]
			}
			if diff := cmp.Diff(tc.wantLinks, gotLinks); diff != "" {
				t.Errorf("Link %q (-want +got):\n%s", r.header.Get("Link"), diff)
			}
		})
	}

	// Following rel="next" keeps per_page.
	r := call(t, s, "GET", path+"?per_page=100", "")
	next := links(r.header)["next"]
	r = callAuth(t, s, "GET", next, "", "token "+s.Token())
	if got := decode[compareResp](t, r).shas(); !cmp.Equal(got, wantRange(101, 200)) {
		t.Errorf("next page %s has %d commits starting %v", next, len(got), got[:1])
	}
}

func TestPullsForCommit(t *testing.T) {
	s := newFake(t, 4)
	s.AddPull(7, "Fix checkout", "bob", sha(1), sha(2))
	s.AddPull(9, "Tidy", "carol", sha(2))

	type pull struct {
		Number int    `json:"number"`
		Title  string `json:"title"`
		State  string `json:"state"`
	}
	for _, tc := range []struct {
		name, ref string
		want      []pull
	}{
		{"in two pulls", sha(2), []pull{{7, "Fix checkout", "closed"}, {9, "Tidy", "closed"}}},
		{"by prefix", sha(1)[:8], []pull{{7, "Fix checkout", "closed"}}},
		{"in none", sha(3), []pull{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, s, "GET", "/repos/acme/shop/commits/"+tc.ref+"/pulls", "")
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if diff := cmp.Diff(tc.want, decode[[]pull](t, r)); diff != "" {
				t.Errorf("pulls (-want +got):\n%s", diff)
			}
		})
	}

	r := call(t, s, "GET", "/repos/acme/shop/commits/"+sha(1)+"/pulls", "")
	got := decode[[]any](t, r)
	want := []any{map[string]any{
		"number":           float64(7),
		"title":            "Fix checkout",
		"state":            "closed",
		"html_url":         "https://github.com/acme/shop/pull/7",
		"url":              s.URL() + "/api/v3/repos/acme/shop/pulls/7",
		"user":             map[string]any{"login": "bob", "type": "User"},
		"merge_commit_sha": sha(2),
		"head":             map[string]any{"sha": sha(2)},
		"base":             map[string]any{"ref": "main"},
	}}
	if diff := cmp.Diff(want, trimTo(want, got)); diff != "" {
		t.Errorf("pull (-want +got):\n%s", diff)
	}
	p := got[0].(map[string]any)
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(p["merged_at"])); err != nil {
		t.Errorf("merged_at %v: %v", p["merged_at"], err)
	}
	if id, ok := p["user"].(map[string]any)["id"].(float64); !ok || id <= 0 {
		t.Errorf("user id %v", p["user"])
	}
	if r := call(t, s, "GET", "/repos/acme/shop/commits/"+sha(3)+"/pulls", ""); strings.TrimSpace(string(r.body)) != "[]" {
		t.Errorf("no pulls answered %s, want []", r.body)
	}

	unknown := sha(42)
	checkError(t, call(t, s, "GET", "/repos/acme/shop/commits/"+unknown+"/pulls", ""),
		422, "No commit found for SHA: "+unknown)
}

func ptr[T any](v T) *T { return &v }

func TestDeploymentRoundTrip(t *testing.T) {
	s := newFake(t, 3)
	r := call(t, s, "POST", "/repos/acme/shop/deployments", `{
		"ref": "`+sha(2)[:10]+`", "task": "deploy:shop", "auto_merge": false, "required_contexts": [],
		"payload": {"app": "shop", "versions": [1, 2]}, "environment": "staging",
		"description": "Deploy shop", "transient_environment": false, "production_environment": false}`)
	if r.status != 201 {
		t.Fatalf("create deployment: %d %s", r.status, r.body)
	}
	api := s.URL() + "/api/v3/repos/acme/shop"
	got := decode[map[string]any](t, r)
	want := map[string]any{
		"id":                     float64(1),
		"url":                    api + "/deployments/1",
		"sha":                    sha(2),
		"ref":                    sha(2)[:10],
		"task":                   "deploy:shop",
		"payload":                map[string]any{"app": "shop", "versions": []any{float64(1), float64(2)}},
		"environment":            "staging",
		"description":            "Deploy shop",
		"creator":                map[string]any{"login": "kuberpult[bot]"},
		"statuses_url":           api + "/deployments/1/statuses",
		"repository_url":         api,
		"transient_environment":  false,
		"production_environment": false,
	}
	if diff := cmp.Diff(want, trimTo(want, got)); diff != "" {
		t.Errorf("deployment (-want +got):\n%s", diff)
	}
	for _, k := range []string{"node_id", "created_at", "updated_at"} {
		if v, _ := got[k].(string); v == "" {
			t.Errorf("deployment lacks %q: %s", k, r.body)
		}
	}

	r = call(t, s, "POST", "/repos/acme/shop/deployments/1/statuses",
		`{"state": "in_progress", "log_url": "https://ci/1", "description": "rolling out"}`)
	if r.status != 201 {
		t.Fatalf("create status: %d %s", r.status, r.body)
	}
	st := decode[map[string]any](t, r)
	wantSt := map[string]any{
		"id":             float64(1),
		"url":            api + "/deployments/1/statuses/1",
		"state":          "in_progress",
		"description":    "rolling out",
		"environment":    "staging",
		"log_url":        "https://ci/1",
		"target_url":     "https://ci/1",
		"deployment_url": api + "/deployments/1",
		"repository_url": api,
		"creator":        map[string]any{"login": "kuberpult[bot]"},
	}
	if diff := cmp.Diff(wantSt, trimTo(wantSt, st)); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	for _, k := range []string{"node_id", "created_at", "updated_at", "environment_url"} {
		if _, ok := st[k]; !ok {
			t.Errorf("status lacks %q: %s", k, r.body)
		}
	}
	r = call(t, s, "POST", "/repos/acme/shop/deployments/1/statuses",
		`{"state": "success", "environment_url": "https://shop.staging", "auto_inactive": true}`)
	if r.status != 201 {
		t.Fatalf("create status: %d %s", r.status, r.body)
	}

	r = call(t, s, "GET", "/repos/acme/shop/deployments/1/statuses", "")
	type status struct {
		ID    int64  `json:"id"`
		State string `json:"state"`
	}
	if diff := cmp.Diff([]status{{2, "success"}, {1, "in_progress"}}, decode[[]status](t, r)); diff != "" {
		t.Errorf("statuses, newest first (-want +got):\n%s", diff)
	}

	wantDeps := []githubfake.Deployment{{
		ID: 1, Ref: sha(2)[:10], SHA: sha(2), Environment: "staging", Description: "Deploy shop",
		Payload:          map[string]any{"app": "shop", "versions": []any{float64(1), float64(2)}},
		RequiredContexts: []string{},
		Statuses: []githubfake.Status{
			{State: "in_progress", Description: "rolling out", LogURL: "https://ci/1"},
			{State: "success", EnvironmentURL: "https://shop.staging", AutoInactive: ptr(true)},
		},
	}}
	deps := s.Deployments()
	if diff := cmp.Diff(wantDeps, deps); diff != "" {
		t.Errorf("Deployments() (-want +got):\n%s", diff)
	}

	// Deployments returns deep copies.
	deps[0].Payload["app"] = "changed"
	deps[0].Payload["versions"].([]any)[0] = "changed"
	deps[0].RequiredContexts = append(deps[0].RequiredContexts, "x")
	deps[0].Statuses[0].State = "changed"
	*deps[0].Statuses[1].AutoInactive = false
	if diff := cmp.Diff(wantDeps, s.Deployments()); diff != "" {
		t.Errorf("Deployments() after changing a copy (-want +got):\n%s", diff)
	}
}

func TestDeploymentDefaults(t *testing.T) {
	s := newFake(t, 2)
	for _, body := range []string{
		`{"ref": "` + sha(1) + `"}`,
		`{"ref": "` + sha(0)[:7] + `", "payload": "{\"k\":\"v\"}", "environment": "qa"}`,
		`{"ref": "` + sha(0) + `", "payload": "just text", "environment": "production", "production_environment": false, "transient_environment": true}`,
	} {
		if r := call(t, s, "POST", "/repos/acme/shop/deployments", body); r.status != 201 {
			t.Fatalf("%s: %d %s", body, r.status, r.body)
		}
	}
	want := []githubfake.Deployment{
		{ID: 1, Ref: sha(1), SHA: sha(1), Environment: "production", Payload: map[string]any{},
			AutoMerge: true, ProductionEnvironment: true},
		{ID: 2, Ref: sha(0)[:7], SHA: sha(0), Environment: "qa", Payload: map[string]any{"k": "v"},
			AutoMerge: true},
		{ID: 3, Ref: sha(0), SHA: sha(0), Environment: "production",
			AutoMerge: true, TransientEnvironment: true},
	}
	if diff := cmp.Diff(want, s.Deployments()); diff != "" {
		t.Errorf("Deployments() (-want +got):\n%s", diff)
	}
	r := call(t, s, "GET", "/repos/acme/shop/deployments/1/statuses", "")
	if r.status != 200 || strings.TrimSpace(string(r.body)) != "[]" {
		t.Errorf("statuses of a new deployment: %d %s", r.status, r.body)
	}
}

func TestDeploymentErrors(t *testing.T) {
	s := newFake(t, 2)
	if r := call(t, s, "POST", "/repos/acme/shop/deployments", `{"ref":"`+sha(1)+`"}`); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		message                  string
	}{
		{"unknown ref", "POST", "/repos/acme/shop/deployments", `{"ref":"main"}`, 422, "No ref found for: main"},
		{"unknown sha", "POST", "/repos/acme/shop/deployments", `{"ref":"` + sha(5) + `"}`, 422, "No ref found for: " + sha(5)},
		{"no ref", "POST", "/repos/acme/shop/deployments", `{"environment":"qa"}`, 422, "Invalid request.\n\n\"ref\" wasn't supplied."},
		{"malformed", "POST", "/repos/acme/shop/deployments", `{"ref": `, 400, "Problems parsing JSON"},
		{"no body", "POST", "/repos/acme/shop/deployments", ``, 400, "Problems parsing JSON"},
		{"not an object", "POST", "/repos/acme/shop/deployments", `["ref"]`, 400, "Problems parsing JSON"},
		{"wrong type", "POST", "/repos/acme/shop/deployments", `{"ref":"` + sha(1) + `","auto_merge":"yes"}`, 422,
			"Invalid request.\n\nFor 'properties/auto_merge', a JSON string is not allowed."},
		{"bad state", "POST", "/repos/acme/shop/deployments/1/statuses", `{"state":"done"}`, 422,
			`Invalid request.` + "\n\n" + `For 'properties/state', "done" is not one of ["error", "failure", "inactive", "in_progress", "queued", "pending", "success"].`},
		{"no state", "POST", "/repos/acme/shop/deployments/1/statuses", `{}`, 422,
			`Invalid request.` + "\n\n" + `For 'properties/state', no state is not one of ["error", "failure", "inactive", "in_progress", "queued", "pending", "success"].`},
		{"status malformed", "POST", "/repos/acme/shop/deployments/1/statuses", `{state}`, 400, "Problems parsing JSON"},
		{"status of unknown deployment", "POST", "/repos/acme/shop/deployments/2/statuses", `{"state":"success"}`, 404, "Not Found"},
		{"statuses of unknown deployment", "GET", "/repos/acme/shop/deployments/0/statuses", ``, 404, "Not Found"},
		{"statuses of non-numeric id", "GET", "/repos/acme/shop/deployments/x/statuses", ``, 404, "Not Found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkError(t, call(t, s, tc.method, tc.path, tc.body), tc.status, tc.message)
		})
	}
	if n := len(s.Deployments()); n != 1 {
		t.Errorf("%d deployments recorded, want 1", n)
	}
	if st := s.Deployments()[0].Statuses; len(st) != 0 {
		t.Errorf("statuses recorded: %+v", st)
	}
}

func states(d githubfake.Deployment) []string {
	out := []string{}
	for _, st := range d.Statuses {
		out = append(out, st.State)
	}
	return out
}

func TestAutoInactive(t *testing.T) {
	const staging = `{"ref":"REF","environment":"staging"}`
	for _, tc := range []struct {
		name                      string
		first, second             string   // deployment bodies; REF is replaced
		firstStates, secondStates []string // statuses posted first
		final                     string   // status body posted last
		finalOnFirst              bool     // post final to the first deployment instead of the second
		wantFirst, wantSecond     []string
	}{
		{name: "prior success becomes inactive", first: staging, second: staging,
			firstStates: []string{"success"}, final: `{"state":"success"}`,
			wantFirst: []string{"success", "inactive"}, wantSecond: []string{"success"}},
		{name: "auto_inactive true", first: staging, second: staging,
			firstStates: []string{"success"}, final: `{"state":"success","auto_inactive":true}`,
			wantFirst: []string{"success", "inactive"}, wantSecond: []string{"success"}},
		{name: "auto_inactive false", first: staging, second: staging,
			firstStates: []string{"success"}, final: `{"state":"success","auto_inactive":false}`,
			wantFirst: []string{"success"}, wantSecond: []string{"success"}},
		{name: "prior transient", first: `{"ref":"REF","environment":"staging","transient_environment":true}`, second: staging,
			firstStates: []string{"success"}, final: `{"state":"success"}`,
			wantFirst: []string{"success"}, wantSecond: []string{"success"}},
		{name: "prior production by default", first: `{"ref":"REF"}`, second: `{"ref":"REF"}`,
			firstStates: []string{"success"}, final: `{"state":"success"}`,
			wantFirst: []string{"success"}, wantSecond: []string{"success"}},
		{name: "prior production_environment", first: `{"ref":"REF","environment":"staging","production_environment":true}`, second: staging,
			firstStates: []string{"success"}, final: `{"state":"success"}`,
			wantFirst: []string{"success"}, wantSecond: []string{"success"}},
		{name: "production name but not production environment", first: `{"ref":"REF","production_environment":false}`, second: `{"ref":"REF"}`,
			firstStates: []string{"success"}, final: `{"state":"success"}`,
			wantFirst: []string{"success", "inactive"}, wantSecond: []string{"success"}},
		{name: "other environment", first: `{"ref":"REF","environment":"qa"}`, second: staging,
			firstStates: []string{"success"}, final: `{"state":"success"}`,
			wantFirst: []string{"success"}, wantSecond: []string{"success"}},
		{name: "moved to the environment by a status", first: `{"ref":"REF","environment":"qa"}`, second: staging,
			firstStates: []string{"success"}, final: `{"state":"success","environment":"qa"}`,
			wantFirst: []string{"success", "inactive"}, wantSecond: []string{"success"}},
		{name: "prior latest status is failure", first: staging, second: staging,
			firstStates: []string{"success", "failure"}, final: `{"state":"success"}`,
			wantFirst: []string{"success", "failure"}, wantSecond: []string{"success"}},
		{name: "prior without status", first: staging, second: staging,
			final:     `{"state":"success"}`,
			wantFirst: []string{}, wantSecond: []string{"success"}},
		{name: "new status is not success", first: staging, second: staging,
			firstStates: []string{"success"}, final: `{"state":"in_progress"}`,
			wantFirst: []string{"success"}, wantSecond: []string{"in_progress"}},
		{name: "later deployment is not prior", first: staging, second: staging,
			secondStates: []string{"success"}, final: `{"state":"success"}`, finalOnFirst: true,
			wantFirst: []string{"success"}, wantSecond: []string{"success"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFake(t, 2)
			post := func(path, body string) {
				t.Helper()
				if r := call(t, s, "POST", path, strings.ReplaceAll(body, "REF", sha(1))); r.status != 201 {
					t.Fatalf("POST %s %s: %d %s", path, body, r.status, r.body)
				}
			}
			post("/repos/acme/shop/deployments", tc.first)
			post("/repos/acme/shop/deployments", tc.second)
			for _, st := range tc.firstStates {
				post("/repos/acme/shop/deployments/1/statuses", `{"state":"`+st+`"}`)
			}
			for _, st := range tc.secondStates {
				post("/repos/acme/shop/deployments/2/statuses", `{"state":"`+st+`"}`)
			}
			target := "2"
			if tc.finalOnFirst {
				target = "1"
			}
			post("/repos/acme/shop/deployments/"+target+"/statuses", tc.final)

			deps := s.Deployments()
			if diff := cmp.Diff(tc.wantFirst, states(deps[0])); diff != "" {
				t.Errorf("first deployment's statuses (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantSecond, states(deps[1])); diff != "" {
				t.Errorf("second deployment's statuses (-want +got):\n%s", diff)
			}

			// The added inactive status is served too, newest first.
			r := call(t, s, "GET", "/repos/acme/shop/deployments/1/statuses", "")
			var served []string
			for _, st := range decode[[]struct{ State string }](t, r) {
				served = append([]string{st.State}, served...)
			}
			if served == nil {
				served = []string{}
			}
			if diff := cmp.Diff(tc.wantFirst, served); diff != "" {
				t.Errorf("served statuses of the first deployment, oldest first (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	s := newFake(t, 2)
	url := s.URL() + "/api/v3/repos/acme/shop/compare/" + sha(0) + "..." + sha(1)
	for _, tc := range []struct {
		name, auth string
		status     int
		body       map[string]any
	}{
		{"bearer", "Bearer " + s.Token(), 200, nil},
		{"token", "token " + s.Token(), 200, nil},
		{"wrong token", "Bearer ghs_wrong", 401,
			map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}},
		{"wrong scheme", "Basic " + s.Token(), 401,
			map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}},
		{"no header", "", 401,
			map[string]any{"message": "Requires authentication", "documentation_url": "https://docs.github.com/rest"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := callAuth(t, s, "GET", url, "", tc.auth)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.body != nil {
				if diff := cmp.Diff(tc.body, decode[map[string]any](t, r)); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			}
			if r.header.Get("X-RateLimit-Limit") != "5000" || r.header.Get("X-GitHub-Request-Id") == "" {
				t.Errorf("headers %v", r.header)
			}
		})
	}
	// A bad token neither deploys nor hits the router.
	r := callAuth(t, s, "POST", s.URL()+"/api/v3/repos/acme/shop/deployments", `{"ref":"`+sha(1)+`"}`, "Bearer nope")
	if r.status != 401 || len(s.Deployments()) != 0 {
		t.Errorf("POST with a bad token: %d, %d deployments", r.status, len(s.Deployments()))
	}
}

func TestRateLimitHeaders(t *testing.T) {
	s := newFake(t, 2)
	path := "/repos/acme/shop/commits/" + sha(1) + "/pulls"
	var ids []string
	for want := 4999; want >= 4997; want-- {
		r := call(t, s, "GET", path, "")
		if got := r.header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(want) {
			t.Errorf("X-RateLimit-Remaining %s, want %d", got, want)
		}
		if got := r.header.Get("X-RateLimit-Limit"); got != "5000" {
			t.Errorf("X-RateLimit-Limit %s", got)
		}
		reset, err := strconv.ParseInt(r.header.Get("X-RateLimit-Reset"), 10, 64)
		if err != nil || time.Unix(reset, 0).Before(time.Now()) {
			t.Errorf("X-RateLimit-Reset %q is not in the future", r.header.Get("X-RateLimit-Reset"))
		}
		ids = append(ids, r.header.Get("X-GitHub-Request-Id"))
	}
	if ids[0] == "" || ids[0] == ids[1] || ids[1] == ids[2] {
		t.Errorf("X-GitHub-Request-Id not distinct: %q", ids)
	}

	reset := time.Now().Add(17 * time.Minute)
	s.RateLimit(reset)
	for _, p := range []string{path, "/repos/acme/shop/deployments", "/nowhere"} {
		r := call(t, s, "GET", p, "")
		if r.status != 403 {
			t.Fatalf("%s: status %d under the rate limit", p, r.status)
		}
		for h, want := range map[string]string{
			"X-RateLimit-Remaining": "0",
			"X-RateLimit-Limit":     "5000",
			"X-RateLimit-Reset":     strconv.FormatInt(reset.Unix(), 10),
		} {
			if got := r.header.Get(h); got != want {
				t.Errorf("%s: %s %q, want %q", p, h, got, want)
			}
		}
		want := map[string]any{
			"message":           "API rate limit exceeded for user ID 1.",
			"documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting",
		}
		if diff := cmp.Diff(want, decode[map[string]any](t, r)); diff != "" {
			t.Errorf("body (-want +got):\n%s", diff)
		}
	}

	s.ClearRateLimit()
	r := call(t, s, "GET", path, "")
	if r.status != 200 || r.header.Get("X-RateLimit-Remaining") != "4999" {
		t.Errorf("after ClearRateLimit: %d, remaining %s", r.status, r.header.Get("X-RateLimit-Remaining"))
	}
}

func TestRateLimitRemainingStaysPositive(t *testing.T) {
	s := newFake(t, 1)
	path := "/repos/acme/shop/commits/" + sha(0) + "/pulls"
	var wg sync.WaitGroup
	for w := 0; w < 10; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				req, _ := http.NewRequest("GET", s.URL()+"/api/v3"+path, nil)
				req.Header.Set("Authorization", "token "+s.Token())
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}()
	}
	wg.Wait()
	r := call(t, s, "GET", path, "")
	if got := r.header.Get("X-RateLimit-Remaining"); r.status != 200 || got != "1" {
		t.Errorf("after 5001 requests: status %d, remaining %s, want 200 and 1", r.status, got)
	}
}

func TestFailNext(t *testing.T) {
	s := newFake(t, 2)
	path := "/repos/acme/shop/compare/" + sha(0) + "..." + sha(1)
	s.FailNext(http.StatusBadGateway, 2)
	for i, want := range []int{502, 502, 200, 200} {
		r := call(t, s, "GET", path, "")
		if r.status != want {
			t.Errorf("request %d: status %d, want %d", i, r.status, want)
		}
		if want == 502 {
			checkError(t, r, 502, "Bad Gateway")
		}
	}
	// A failed POST records nothing.
	s.FailNext(http.StatusInternalServerError, 1)
	if r := call(t, s, "POST", "/repos/acme/shop/deployments", `{"ref":"`+sha(1)+`"}`); r.status != 500 {
		t.Errorf("POST: status %d, want 500", r.status)
	}
	if n := len(s.Deployments()); n != 0 {
		t.Errorf("%d deployments after a failed POST", n)
	}
	s.FailNext(http.StatusInternalServerError, 5)
	s.FailNext(0, 0)
	if r := call(t, s, "GET", path, ""); r.status != 200 {
		t.Errorf("after cancelling: status %d", r.status)
	}
}

func TestBlock(t *testing.T) {
	s := newFake(t, 2)
	path := "/repos/acme/shop/commits/" + sha(1) + "/pulls"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("release", func(t *testing.T) {
		release := s.Block()
		before := s.Requests("GET", path)
		done := make(chan int, 1)
		go func() {
			req, _ := http.NewRequest("GET", s.URL()+"/api/v3"+path, nil)
			req.Header.Set("Authorization", "Bearer "+s.Token())
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- -1
				return
			}
			res.Body.Close()
			done <- res.StatusCode
		}()
		if err := s.WaitFor(ctx, func() bool { return s.Requests("GET", path) == before+1 }); err != nil {
			t.Fatalf("request did not arrive: %v", err)
		}
		select {
		case st := <-done:
			t.Fatalf("blocked request answered %d", st)
		default:
		}
		release()
		release() // harmless
		if st := <-done; st != 200 {
			t.Errorf("released request: status %d", st)
		}
	})

	t.Run("client gives up", func(t *testing.T) {
		release := s.Block()
		defer release()
		before := s.Requests("GET", path)
		reqCtx, cancelReq := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			req, _ := http.NewRequestWithContext(reqCtx, "GET", s.URL()+"/api/v3"+path, nil)
			req.Header.Set("Authorization", "Bearer "+s.Token())
			res, err := http.DefaultClient.Do(req)
			if err == nil {
				res.Body.Close()
			}
			done <- err
		}()
		if err := s.WaitFor(ctx, func() bool { return s.Requests("GET", path) == before+1 }); err != nil {
			t.Fatalf("request did not arrive: %v", err)
		}
		cancelReq()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled request: %v, want context.Canceled", err)
		}
	})

	t.Run("nested", func(t *testing.T) {
		r1, r2 := s.Block(), s.Block()
		before := s.Requests("GET", path)
		done := make(chan int, 1)
		go func() {
			req, _ := http.NewRequest("GET", s.URL()+"/api/v3"+path, nil)
			req.Header.Set("Authorization", "Bearer "+s.Token())
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- -1
				return
			}
			res.Body.Close()
			done <- res.StatusCode
		}()
		if err := s.WaitFor(ctx, func() bool { return s.Requests("GET", path) == before+1 }); err != nil {
			t.Fatalf("request did not arrive: %v", err)
		}
		r1()
		select {
		case st := <-done:
			t.Fatalf("request answered %d while still blocked once", st)
		default:
		}
		r2()
		if st := <-done; st != 200 {
			t.Errorf("released request: status %d", st)
		}
	})

	// Unblocked again.
	if r := call(t, s, "GET", path, ""); r.status != 200 {
		t.Errorf("after the blocks: status %d", r.status)
	}
}

func TestBlockedUntilCleanup(t *testing.T) {
	// A request still blocked when the test ends must not hang the cleanup.
	s := newFake(t, 1)
	s.Block()
	go func() {
		req, _ := http.NewRequest("GET", s.URL()+"/api/v3/repos/acme/shop/commits/"+sha(0)+"/pulls", nil)
		req.Header.Set("Authorization", "Bearer "+s.Token())
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitFor(ctx, func() bool { return s.Requests("", "/repos/") == 1 }); err != nil {
		t.Fatal(err)
	}
}

func TestWaitFor(t *testing.T) {
	s := newFake(t, 2)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.WaitFor(ctx, func() bool { return false }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitFor(false) = %v, want DeadlineExceeded", err)
	}

	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if err := s.WaitFor(ctx2, func() bool { return true }); err != nil {
		t.Errorf("WaitFor(true) = %v", err)
	}

	errs := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("POST", s.URL()+"/api/v3/repos/acme/shop/deployments",
			strings.NewReader(`{"ref":"`+sha(1)+`","environment":"qa"}`))
		req.Header.Set("Authorization", "Bearer "+s.Token())
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		errs <- err
	}()
	err := s.WaitFor(ctx2, func() bool {
		deps := s.Deployments() // may use the server: no lock is held
		return len(deps) == 1 && deps[0].Environment == "qa" && s.Requests("POST", "/repos/acme/shop/deployments") == 1
	})
	if err != nil {
		t.Errorf("WaitFor(deployment) = %v", err)
	}
	if err := <-errs; err != nil {
		t.Error(err)
	}
}

func TestNotFound(t *testing.T) {
	s := newFake(t, 2)
	for _, tc := range []struct{ method, url string }{
		{"GET", "/api/v3/repos/acme/shop/unknown"},
		{"GET", "/api/v3/repos/acme/other/compare/" + sha(0) + "..." + sha(1)},
		{"GET", "/api/v3/repos/octo/shop/commits/" + sha(0) + "/pulls"},
		{"GET", "/api/v3/user"},
		{"GET", "/api/v3"},
		{"GET", "/api/v4/repos/acme/shop/compare/" + sha(0) + "..." + sha(1)},
		{"GET", "/repos/acme/shop/compare/" + sha(0) + "..." + sha(1)},
		{"DELETE", "/api/v3/repos/acme/shop/deployments"},
		{"GET", "/api/v3/repos/acme/shop/deployments/1"},
		{"POST", "/api/v3/repos/acme/shop/compare/" + sha(0) + "..." + sha(1)},
	} {
		t.Run(tc.method+" "+tc.url, func(t *testing.T) {
			checkError(t, callAuth(t, s, tc.method, s.URL()+tc.url, "", "Bearer "+s.Token()), 404, "Not Found")
		})
	}
	// Owner and name are case-insensitive, as on GitHub.
	if r := call(t, s, "GET", "/repos/ACME/Shop/compare/"+sha(0)+"..."+sha(1), ""); r.status != 200 {
		t.Errorf("case-insensitive repo: %d", r.status)
	}
}

func TestRequests(t *testing.T) {
	s := newFake(t, 2)
	call(t, s, "POST", "/repos/acme/shop/deployments", `{"ref":"`+sha(1)+`"}`)
	call(t, s, "POST", "/repos/acme/shop/deployments/1/statuses", `{"state":"success"}`)
	call(t, s, "GET", "/repos/acme/shop/deployments/1/statuses?per_page=5", "")
	callAuth(t, s, "POST", s.URL()+"/api/v3/repos/acme/shop/deployments", `{}`, "Bearer bad")
	call(t, s, "GET", "/repos/acme/shop/compare/"+sha(0)+"..."+sha(1), "")
	callAuth(t, s, "GET", s.URL()+"/elsewhere", "", "Bearer "+s.Token())
	for _, tc := range []struct {
		method, prefix string
		want           int
	}{
		{"POST", "/repos/acme/shop/deployments", 3},
		{"post", "/repos/acme/shop/deployments/1/statuses", 1},
		{"GET", "/repos/acme/shop/deployments", 1},
		{"GET", "/repos/acme/shop/deployments/1/statuses", 1},
		{"GET", "/repos/acme/shop/compare/", 1},
		{"PUT", "/repos/", 0},
		{"", "/repos/acme/shop/", 5},
		{"", "/", 6},
		{"GET", "/elsewhere", 1},
	} {
		if got := s.Requests(tc.method, tc.prefix); got != tc.want {
			t.Errorf("Requests(%q, %q) = %d, want %d", tc.method, tc.prefix, got, tc.want)
		}
	}
}

func TestConcurrentDeployments(t *testing.T) {
	s := newFake(t, 2)
	const n = 20
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", s.URL()+"/api/v3/repos/acme/shop/deployments",
				strings.NewReader(`{"ref":"`+sha(1)+`","environment":"qa"}`))
			req.Header.Set("Authorization", "Bearer "+s.Token())
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			var d struct {
				ID int64 `json:"id"`
			}
			_ = json.NewDecoder(res.Body).Decode(&d)
			res.Body.Close()
			req, _ = http.NewRequest("POST", fmt.Sprintf("%s/api/v3/repos/acme/shop/deployments/%d/statuses", s.URL(), d.ID),
				strings.NewReader(`{"state":"success"}`))
			req.Header.Set("Authorization", "Bearer "+s.Token())
			if res, err = http.DefaultClient.Do(req); err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
		}()
		go func() { _ = s.Deployments(); _ = s.Requests("", "/") }()
	}
	wg.Wait()
	deps := s.Deployments()
	if len(deps) != n {
		t.Fatalf("%d deployments, want %d", len(deps), n)
	}
	for i, d := range deps {
		if d.ID != int64(i+1) {
			t.Errorf("deployment %d has id %d", i, d.ID)
		}
		if len(d.Statuses) == 0 || d.Statuses[0].State != "success" {
			t.Errorf("deployment %d statuses %v", d.ID, states(d))
		}
	}
}
