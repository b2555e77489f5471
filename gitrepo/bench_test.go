package gitrepo

import (
	"fmt"
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
// environments (20,000 manifests of about 1 KB, plus config.json and the Argo CD files of
// 2.5 MB each) and 3,000 commits of history. It is generated once per test binary run,
// with git fast-import, and removed by TestMain.
//
//	go test ./gitrepo -run '^$' -bench . -benchtime 20x

var benchSpec = genSpec{
	envs: []deploy.Env{
		"development", "integration", "staging", "canary", "production-br",
		"production-de", "production-fr", "production-jp", "production-uk", "production-us",
	},
	apps:    2000,
	history: 3000,
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
			benchErr = benchSpec.generate(filepath.Join(benchDir, "env.git"))
		}
		if benchErr == nil {
			// git's background maintenance (gc --auto after a push) would run in the
			// middle of later benchmarks and measure git, not the writer.
			benchErr = exec.Command("git", "-C", filepath.Join(benchDir, "env.git"), "config", "gc.auto", "0").Run()
		}
	})
	if benchErr != nil {
		b.Fatalf("generate benchmark repo: %v", benchErr)
	}
	return filepath.Join(benchDir, "env.git")
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

// releaseChange deploys a new version of one app on all ten environments, as CI's
// release of an app with upstream latest everywhere does: a version-only change.
func releaseChange() deploy.RepoChange {
	v := benchVersion.Add(1)
	app := genApp(int(v*13) % benchSpec.apps)
	rc := deploy.RepoChange{Message: fmt.Sprintf("release %s %d", app, 10000+v), Author: alice, Time: time.Now()}
	for _, env := range benchSpec.envs {
		rc.Manifests = append(rc.Manifests, deploy.ManifestChange{Env: env, App: app, Version: deploy.Version(10000 + v), Manifest: genManifest(env, app, 10000+v)})
	}
	return rc
}

// onboardChange adds a new app on all ten environments: every Argo CD file changes.
func onboardChange() deploy.RepoChange {
	v := benchVersion.Add(1)
	app := deploy.App(fmt.Sprintf("onboarded-%06d", v))
	rc := deploy.RepoChange{Message: "onboard " + string(app), Author: alice, Time: time.Now()}
	for _, env := range benchSpec.envs {
		rc.Manifests = append(rc.Manifests, deploy.ManifestChange{Env: env, App: app, Version: 1, Manifest: genManifest(env, app, 1)})
	}
	return rc
}

// benchWriter opens a writer on the benchmark repository and makes its first clone.
func benchWriter(b *testing.B) (*Writer, *fakeOutbox) {
	bare := benchRepo(b)
	restoreAfter(b, bare)
	runtime.GC() // what earlier runs left behind is not the writer's memory
	debug.FreeOSMemory()
	resetPeakRSS()
	w := openWriter(b, bare, func(o *Options) { o.Now = time.Now })
	ob := newFakeOutbox()
	ob.state = benchSpec.state()
	start := time.Now()
	ob.add(releaseChange())
	flush(b, w, ob)
	b.Logf("first clone and push: %v, %d bytes fetched, %d trees (%d KB) held", time.Since(start).Round(time.Millisecond), w.Status().Stats.FetchedBytes, len(w.st.trees), w.st.treeBytes>>10)
	return w, ob
}

// restoreAfter puts the benchmark repository's branch back where it is now when b ends,
// and packs what earlier benchmarks pushed into one pack, so that every benchmark starts
// on a repository of the same size and shape.
func restoreAfter(b *testing.B, bare string) {
	run(b, bare, "repack", "-a", "-d", "-q", "--window=0")
	start := run(b, bare, "rev-parse", "main")
	b.Cleanup(func() { run(b, bare, "update-ref", "refs/heads/main", start) })
}

// benchPush pushes per op the entries made by change, and reports commits per second,
// bytes pushed per commit and the peak RSS.
func benchPush(b *testing.B, perOp int, change func() deploy.RepoChange) {
	w, ob := benchWriter(b)
	before := w.Status().Stats
	sent := w.sentBytes
	var pushing time.Duration
	b.ResetTimer()
	for range b.N {
		for range perOp {
			ob.add(change())
		}
		flush(b, w, ob)
		pushing += w.Status().Stats.LastPushDuration
	}
	b.StopTimer()
	b.ReportMetric(float64(pushing.Milliseconds())/float64(b.N), "push-ms/op")
	s := w.Status().Stats
	commits := s.CommitsPushed - before.CommitsPushed
	if commits != int64(b.N*perOp) {
		b.Fatalf("%d commits for %d entries", commits, b.N*perOp)
	}
	b.ReportMetric(float64(commits)/b.Elapsed().Seconds(), "commits/s")
	b.ReportMetric(float64(w.sentBytes-sent)/float64(commits), "pushed-B/commit")
	b.ReportMetric(float64(s.FetchedBytes-before.FetchedBytes)/float64(b.N), "fetched-B/op")
	b.ReportMetric(peakRSSMB(), "peak-MB")
}

// benchSustained puts b.N batches of perOp entries in the outbox at once and pushes them
// all: batches follow each other, each built while the one before is pushed. It reports
// commits per second.
func benchSustained(b *testing.B, perOp int, change func() deploy.RepoChange) {
	w, ob := benchWriter(b)
	before := w.Status().Stats
	for range b.N * perOp {
		ob.add(change())
	}
	b.ResetTimer()
	flush(b, w, ob)
	b.StopTimer()
	s := w.Status().Stats
	if commits := s.CommitsPushed - before.CommitsPushed; commits != int64(b.N*perOp) {
		b.Fatalf("%d commits for %d entries", commits, b.N*perOp)
	}
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "commits/s")
	b.ReportMetric(peakRSSMB(), "peak-MB")
}

// BenchmarkWriterSustained: a backlog of version-only entries, 100 per push.
func BenchmarkWriterSustained(b *testing.B) { benchSustained(b, 100, releaseChange) }

// BenchmarkWriterOnboardingSustained: a backlog of onboarding entries, 100 per push.
func BenchmarkWriterOnboardingSustained(b *testing.B) { benchSustained(b, 100, onboardChange) }

// BenchmarkWriterDeploy: one entry (10 manifests on 10 envs, version only) per push.
func BenchmarkWriterDeploy(b *testing.B) { benchPush(b, 1, releaseChange) }

// BenchmarkWriterBatch: 100 such entries in one push.
func BenchmarkWriterBatch(b *testing.B) { benchPush(b, 100, releaseChange) }

// BenchmarkWriterOnboarding: 50 entries each adding one new app on 10 envs, in one push.
func BenchmarkWriterOnboarding(b *testing.B) { benchPush(b, 50, onboardChange) }

// BenchmarkGitCLIDeploy is the same ten-file change as BenchmarkWriterDeploy made with the
// git CLI in an existing clone: pull, write, add, commit, push.
func BenchmarkGitCLIDeploy(b *testing.B) {
	bare := benchRepo(b)
	restoreAfter(b, bare)
	clone := filepath.Join(benchDir, "cli-clone")
	if _, err := os.Stat(clone); err != nil {
		run(b, ".", "clone", "--quiet", "--branch=main", bare, clone)
		run(b, clone, "config", "gc.auto", "0")
	}
	run(b, clone, "fetch", "--quiet", "origin")
	run(b, clone, "reset", "--quiet", "--hard", "origin/main")
	b.ResetTimer()
	for range b.N {
		run(b, clone, "pull", "--quiet", "--ff-only", "origin", "main")
		rc := releaseChange()
		args := []string{"add", "--"}
		for _, m := range rc.Manifests {
			p := filepath.Join(clone, filepath.FromSlash(ManifestPath(m.Env, m.App)))
			if err := os.WriteFile(p, []byte(m.Manifest), 0o644); err != nil {
				b.Fatal(err)
			}
			args = append(args, ManifestPath(m.Env, m.App))
		}
		run(b, clone, args...)
		run(b, clone, "commit", "--quiet", "-m", rc.Message)
		run(b, clone, "push", "--quiet", "origin", "HEAD:main")
	}
}
