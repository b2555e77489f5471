package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"kuberpult/deploy"
)

// buildBinary builds the kuberpult command of the module the benchmark runs in.
func buildBinary(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		return "", fmt.Errorf("go env GOMOD: not inside the kuberpult module (%v)", err)
	}
	bin := filepath.Join(dir, "kuberpult")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/kuberpult")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(out)))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/kuberpult: %w\n%s", err, out)
	}
	return bin, nil
}

// writeConfig writes the configuration serve runs with: no rbac, the SQLite database at db,
// the environments of w (w.config), the API on listen.
func writeConfig(path, db, remote, listen string, w world) error {
	return writeConfigState(path, stateConfig{sqlite: db}, remote, listen, w)
}

// stateConfig is the state section of serve's configuration: a SQLite file or a PostgreSQL
// DSN.
type stateConfig struct{ sqlite, postgres string }

// writeConfigState is writeConfig with the database st.
func writeConfigState(path string, st stateConfig, remote, listen string, w world) error {
	var b strings.Builder
	if st.postgres != "" {
		dsn, _ := json.Marshal(st.postgres) // a JSON string is a YAML double-quoted scalar
		fmt.Fprintf(&b, "state:\n  postgres:\n    dsn: %s\n", dsn)
	} else {
		fmt.Fprintf(&b, "state:\n  sqlite: %s\n", st.sqlite)
	}
	fmt.Fprintf(&b, "git:\n  url: %s\n  branch: main\nenvironments:\n", remote)
	for _, e := range w.envs {
		if c := w.config(e); c.Upstream.Latest {
			fmt.Fprintf(&b, "  %s: {upstream: {latest: true}}\n", e)
		} else {
			fmt.Fprintf(&b, "  %s: {upstream: {environment: %s}, group: %s}\n", e, c.Upstream.Environment, c.Group)
		}
	}
	fmt.Fprintf(&b, "api:\n  listen: %s\nconsole:\n  user: {name: Bench, email: bench@example.com}\n", listen)
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// freeAddr finds a free local port. Another process may take it before serve does; then
// serve fails to start and says so.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// server is a running `kuberpult serve`.
type server struct {
	cmd    *exec.Cmd
	base   string
	client *http.Client
	exited chan struct{}
	err    error // set when exited is closed

	maxRSS atomic.Int64 // highest VmRSS sampled since the last usageNow, kB
	cpu    float64      // CPU seconds at the last usageNow
	gitCPU float64      // CPU seconds of its finished children (git) at the last usageNow
}

func startServe(bin, cfg, logPath, addr string) (*server, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--config", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The server dies with the benchmark, even when the benchmark is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	s := &server{cmd: cmd, base: "http://" + addr, exited: make(chan struct{}),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 5 * time.Minute}}
	go func() {
		s.err = cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	go s.sample()
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM and waits for a clean exit, killing the process after a minute.
func (s *server) stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		if s.err != nil {
			return fmt.Errorf("serve exited: %w", s.err)
		}
		return nil
	case <-time.After(time.Minute):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return errors.New("serve did not stop within a minute of SIGTERM; killed")
	}
}

func (s *server) alive() error {
	select {
	case <-s.exited:
		return fmt.Errorf("serve exited: %v", s.err)
	default:
		return nil
	}
}

// waitReady waits until /readyz answers 200.
func (s *server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := s.alive(); err != nil {
			return err
		}
		if code, _, err := s.get(ctx, "/readyz"); err == nil && code == http.StatusOK {
			return nil
		}
		if err := pause(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("serve not ready after %s", timeout)
}

func (s *server) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// metrics reads the samples of /metrics without labels.
func (s *server) metrics(ctx context.Context) (map[string]float64, error) {
	code, body, err := s.get(ctx, "/metrics")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %d", code)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			m[name] = f
		}
	}
	return m, nil
}

// pending reads kuberpult_outbox_pending from /metrics.
func (s *server) pending(ctx context.Context) (int, error) {
	m, err := s.metrics(ctx)
	if err != nil {
		return 0, err
	}
	n, ok := m["kuberpult_outbox_pending"]
	if !ok {
		return 0, errors.New("GET /metrics: no kuberpult_outbox_pending")
	}
	return int(n), nil
}

// deployedState is what GET /api/applications says runs where, and whether it is pushed.
type deployedState struct {
	versions map[deploy.App]map[deploy.Env]deploy.Version
	pending  int // deployments still waiting for the env repo
}

func (s *server) deployed(ctx context.Context) (deployedState, error) {
	code, body, err := s.get(ctx, "/api/applications")
	if err != nil {
		return deployedState{}, err
	}
	if code != http.StatusOK {
		return deployedState{}, fmt.Errorf("GET /api/applications: %d %s", code, body)
	}
	var resp struct {
		Applications []struct {
			Name         deploy.App `json:"name"`
			Environments []struct {
				Env     deploy.Env     `json:"env"`
				Version deploy.Version `json:"version"`
				Pending bool           `json:"pending"`
			} `json:"environments"`
		} `json:"applications"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return deployedState{}, fmt.Errorf("GET /api/applications: %w", err)
	}
	st := deployedState{versions: map[deploy.App]map[deploy.Env]deploy.Version{}}
	for _, a := range resp.Applications {
		m := map[deploy.Env]deploy.Version{}
		for _, e := range a.Environments {
			if e.Version != 0 {
				m[e.Env] = e.Version
			}
			if e.Pending {
				st.pending++
			}
		}
		st.versions[a.Name] = m
	}
	return st, nil
}

// release is one POST /api/release in Kuberpult's multipart form, as its CLI sends it.
type release struct {
	app     deploy.App
	version deploy.Version
}

func (s *server) release(ctx context.Context, r release, envs []deploy.Env) (int, string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range [][2]string{
		{"application", string(r.app)}, {"version", r.version.String()}, {"team", string(teamOf(r.app))},
		{"source_commit_id", sourceCommit(r.app, r.version)}, {"source_author", "Jane Doe <jane@example.com>"},
		{"source_message", "faster checkout"}, {"display_version", fmt.Sprintf("1.%d", r.version)},
	} {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return 0, "", err
		}
	}
	for _, e := range envs {
		w, err := mw.CreateFormFile("manifests["+string(e)+"]", string(e)+"-manifest")
		if err != nil {
			return 0, "", err
		}
		io.WriteString(w, manifest(r.app, e, r.version, "release"))
	}
	if err := mw.Close(); err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/api/release", &body)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	setAuthor(req)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// train sends PUT /api/environment-groups/<group>/releasetrain, as Kuberpult's CLI does
// (`release-train --target-environment <group> --use_env_group_target --ci_link …`).
func (s *server) train(ctx context.Context, group deploy.Group) (int, []byte, error) {
	body := strings.NewReader(`{"ciLink":"https://ci.example.com/bench"}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.base+"/api/environment-groups/"+string(group)+"/releasetrain", body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	setAuthor(req)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// setAuthor sets Kuberpult's author headers: the person a request is made for.
func setAuthor(req *http.Request) {
	req.Header.Set("author-name", base64.StdEncoding.EncodeToString([]byte("Jane Doe")))
	req.Header.Set("author-email", base64.StdEncoding.EncodeToString([]byte("jane@example.com")))
}

// procStatus reads a field in kB ("VmRSS", "VmHWM") from /proc/<pid>/status.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// sample records the highest VmRSS, every 50 ms, until the process exits.
func (s *server) sample() {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.exited:
			return
		case <-t.C:
		}
		if kb, err := procStatus(s.pid(), "VmRSS"); err == nil && kb > s.maxRSS.Load() {
			s.maxRSS.Store(kb)
		}
	}
}

// usage is what /proc says about serve at the end of a phase: its peak RSS since start
// (VmHWM), the highest VmRSS sampled during the phase, and the CPU time it used in it.
type usage struct {
	PeakMB     float64 `json:"peakMB"`
	PhaseMaxMB float64 `json:"phaseMaxRssMB"`
	CurrentMB  float64 `json:"rssMB"`
	CPUSeconds float64 `json:"cpuSeconds"`
	// GitCPUSeconds is the CPU time of the git processes serve ran and waited for (the
	// remote's receive-pack, index-pack, rev-list when the env repo is a local path).
	GitCPUSeconds float64 `json:"gitCpuSeconds"`
	// Leader: with several replicas, this one held the env-repo writer lease at the end.
	Leader bool `json:"leader,omitempty"`
}

// usageNow reads the figures and starts the next phase's.
func (s *server) usageNow() usage {
	hwm, _ := procStatus(s.pid(), "VmHWM")
	rss, _ := procStatus(s.pid(), "VmRSS")
	cpu, git := procCPU(s.pid())
	u := usage{PeakMB: float64(hwm) / 1024, CurrentMB: float64(rss) / 1024,
		PhaseMaxMB: float64(max(s.maxRSS.Swap(rss), rss)) / 1024, CPUSeconds: cpu - s.cpu, GitCPUSeconds: git - s.gitCPU}
	s.cpu, s.gitCPU = cpu, git
	return u
}

// procCPU is the user and system CPU time in seconds of a process and of its children it
// waited for, from /proc/<pid>/stat (in clock ticks of 1/100 s, USER_HZ on Linux).
func procCPU(pid int) (self, children float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state); utime is 14, stime 15, cutime 16, cstime 17
	if len(f) < 15 {
		return 0, 0
	}
	num := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	return (num(f[11]) + num(f[12])) / 100, (num(f[13]) + num(f[14])) / 100
}

// pause waits d or until ctx is done.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
