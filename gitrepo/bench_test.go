package gitrepo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kuberpult/deploy"
)

// The benchmarks run on an environment repo of realistic size: 2,000 apps on each of 10
// environments (20,000 manifests of about 1 KB, plus config.json and the Argo CD files)
// and 3,000 commits of history. It is generated once per test binary run, with git
// fast-import, and removed by TestMain.

const (
	benchApps    = 2000
	benchCommits = 3000
)

var benchEnvs = []deploy.Env{
	"development", "integration", "staging", "canary", "production-br",
	"production-de", "production-fr", "production-jp", "production-uk", "production-us",
}

var (
	benchOnce    sync.Once
	benchDir     string
	benchErr     error
	benchVersion atomic.Int64 // makes every benchmark deploy a new version
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchRepo returns the bare benchmark repository, generating it the first time.
func benchRepo(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "gitrepo-bench-")
		if benchErr == nil {
			benchErr = generateRepo(filepath.Join(benchDir, "env.git"))
		}
	})
	if benchErr != nil {
		b.Fatalf("generate benchmark repo: %v", benchErr)
	}
	return filepath.Join(benchDir, "env.git")
}

func benchConfig() deploy.EnvConfig {
	return deploy.EnvConfig{
		Upstream: &deploy.Upstream{Latest: true},
		ArgoCD: &deploy.ArgoCD{
			Destination:            deploy.Destination{Server: "https://kubernetes.default.svc", Namespace: "shop"},
			SyncWindows:            []deploy.SyncWindow{{Kind: "deny", Schedule: "0 22 * * *", Duration: "8h"}},
			ApplicationAnnotations: map[string]string{"notifications.argoproj.io/subscribe.on-degraded.slack": "alerts"},
			SyncOptions:            []string{"ApplyOutOfSyncOnly=true"},
		},
	}
}

func benchApp(i int) deploy.App { return deploy.App(fmt.Sprintf("service-%04d", i)) }

func benchArgoApps() []deploy.ArgoApp {
	apps := make([]deploy.ArgoApp, benchApps)
	for i := range apps {
		apps[i] = deploy.ArgoApp{App: benchApp(i), Team: deploy.Team(fmt.Sprintf("team-%02d", i%40))}
	}
	return apps
}

// benchManifest is a Deployment and a Service, about 1 KB.
func benchManifest(env deploy.Env, app deploy.App, version int64) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[2]s
  namespace: shop
  labels:
    app.kubernetes.io/name: %[2]s
    app.kubernetes.io/version: "%[3]d"
    environment: %[1]s
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: %[2]s
  template:
    metadata:
      labels:
        app.kubernetes.io/name: %[2]s
        app.kubernetes.io/version: "%[3]d"
    spec:
      containers:
      - name: %[2]s
        image: europe-docker.pkg.dev/shop/images/%[2]s:1.%[3]d.0
        ports:
        - containerPort: 8080
        env:
        - name: ENVIRONMENT
          value: %[1]s
        resources:
          requests: {cpu: 100m, memory: 128Mi}
          limits: {memory: 256Mi}
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
---
apiVersion: v1
kind: Service
metadata:
  name: %[2]s
  namespace: shop
spec:
  selector:
    app.kubernetes.io/name: %[2]s
  ports:
  - port: 80
    targetPort: 8080
`, env, app, version)
}

// deployFiles is what one deploy writes: one manifest, and the env's config and Argo CD file.
func deployFiles(env deploy.Env, app deploy.App, version int64, apps []deploy.ArgoApp) deploy.EnvFiles {
	return deploy.EnvFiles{
		Env: env, Config: benchConfig(), Apps: apps,
		Manifests: []deploy.AppManifest{{App: app, Manifest: benchManifest(env, app, version)}},
	}
}

// generateRepo writes the benchmark repository with git fast-import.
func generateRepo(bare string) error {
	if out, err := exec.Command("git", "init", "--quiet", "--bare", "--initial-branch=main", bare).CombinedOutput(); err != nil {
		return fmt.Errorf("git init: %v: %s", err, out)
	}
	cmd := exec.Command("git", "-C", bare, "fast-import", "--quiet")
	cmd.Env = gitEnv()
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	werr := writeHistory(in)
	in.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("fast-import: %w", err)
	}
	return werr
}

func writeHistory(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	apps := benchArgoApps()
	when := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	file := func(path string, content []byte) {
		fmt.Fprintf(bw, "M 100644 inline %s\ndata %d\n", path, len(content))
		bw.Write(content)
		bw.WriteByte('\n')
	}
	commit := func(n int, msg string) {
		fmt.Fprintf(bw, "commit refs/heads/main\nmark :%d\n", n)
		fmt.Fprintf(bw, "author Alice <alice@example.com> %d +0000\ncommitter Kuberpult <kuberpult@example.com> %d +0000\n", when+int64(n)*60, when+int64(n)*60)
		fmt.Fprintf(bw, "data %d\n%s\n", len(msg), msg)
		if n > 1 {
			fmt.Fprintf(bw, "from :%d\n", n-1)
		}
	}
	commit(1, "initial environments")
	for _, env := range benchEnvs {
		for i, a := range apps {
			ef := deployFiles(env, a.App, int64(i%50+1), apps)
			if i > 0 {
				ef.Apps = nil // the Argo CD file is written once per env, with all apps
			}
			files, err := Files(ef, "https://git.example.com/org/envrepo.git", "main")
			if err != nil {
				return err
			}
			for _, f := range files {
				if i == 0 || strings.HasSuffix(f.Path, "manifests.yaml") {
					file(f.Path, f.Content)
				}
			}
		}
	}
	for n := 2; n <= benchCommits; n++ {
		env := benchEnvs[n%len(benchEnvs)]
		app := benchApp(n * 7 % benchApps)
		commit(n, fmt.Sprintf("deploy %s %d to %s", app, 100+n, env))
		file(ManifestPath(env, app), []byte(benchManifest(env, app, int64(100+n))))
	}
	return bw.Flush()
}

// resetPeakRSS restarts the kernel's peak RSS count of this process (Linux).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMB returns VmHWM, the peak resident memory of this process, in MB.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}

// nextDeploy returns the env, app and version of the i-th benchmark deploy.
func nextDeploy(i int) (deploy.Env, deploy.App, int64) {
	v := benchVersion.Add(1)
	return benchEnvs[i%len(benchEnvs)], benchApp(int(v*13) % benchApps), 10000 + v
}

func BenchmarkWriterDeploy(b *testing.B) {
	bare := benchRepo(b)
	ctx := context.Background()
	apps := benchArgoApps()
	runtime.GC() // what earlier runs left behind is not the writer's memory
	debug.FreeOSMemory()
	resetPeakRSS()
	w, err := Open(ctx, Options{URL: bare, ArgoRepoURL: "https://git.example.com/org/envrepo.git"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		env, app, v := nextDeploy(i)
		e := deploy.OutboxEntry{ID: v, Change: deploy.RepoChange{
			Message: fmt.Sprintf("deploy %s %d to %s", app, v, env), Author: alice, Time: time.Now(),
			Envs: []deploy.EnvFiles{deployFiles(env, app, v, apps)},
		}}
		pushed, err := w.Write(ctx, []deploy.OutboxEntry{e})
		if err != nil {
			b.Fatal(err)
		}
		if pushed[0].Commit == "" {
			b.Fatal("no commit")
		}
	}
	b.StopTimer()
	b.ReportMetric(peakRSSMB(), "peak-MB")
}

func BenchmarkGitCLIDeploy(b *testing.B) {
	bare := benchRepo(b)
	apps := benchArgoApps()
	clone := filepath.Join(benchDir, "cli-clone")
	if _, err := os.Stat(clone); err != nil {
		run(b, ".", "clone", "--quiet", "--branch=main", bare, clone)
	} else {
		run(b, clone, "fetch", "--quiet", "origin")
		run(b, clone, "reset", "--quiet", "--hard", "origin/main")
	}
	b.ResetTimer()
	for i := range b.N {
		env, app, v := nextDeploy(i)
		files, err := Files(deployFiles(env, app, v, apps), "https://git.example.com/org/envrepo.git", "main")
		if err != nil {
			b.Fatal(err)
		}
		paths := []string{"add", "--"}
		for _, f := range files {
			p := filepath.Join(clone, filepath.FromSlash(f.Path))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(p, f.Content, 0o644); err != nil {
				b.Fatal(err)
			}
			paths = append(paths, f.Path)
		}
		run(b, clone, paths...)
		run(b, clone, "commit", "--quiet", "-m", fmt.Sprintf("deploy %s %d to %s", app, v, env))
		run(b, clone, "push", "--quiet", "origin", "HEAD:main")
	}
}
