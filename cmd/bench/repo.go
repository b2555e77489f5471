package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"kuberpult/deploy"
)

// The epoch of the generated history and of the seeded releases, so every run is the same.
var epoch = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)

func manifestPath(env deploy.Env, app deploy.App) string {
	return "environments/" + string(env) + "/applications/" + string(app) + "/manifests/manifests.yaml"
}

// manifest is the manifest of a release of app for env: about 1 KB of YAML that names the
// version, so the end-state check can read it back. note tells the generated history
// apart from what releases carry ("release").
func manifest(app deploy.App, env deploy.Env, v deploy.Version, note string) string {
	return fmt.Sprintf(manifestTemplate, app, env, v, note, app, app, v, app, v, env, env, v)
}

const manifestTemplate = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: %[2]s
  labels:
    app.kubernetes.io/name: %[1]s
    app.kubernetes.io/version: "%[3]d"
    app.kubernetes.io/part-of: shop
  annotations:
    bench.kuberpult/note: %[4]q
spec:
  replicas: 2
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      app.kubernetes.io/name: %[1]s
  template:
    metadata:
      labels:
        app.kubernetes.io/name: %[1]s
        app.kubernetes.io/version: "%[3]d"
    spec:
      containers:
      - name: %[1]s
        image: registry.example.com/shop/%[1]s:%[3]d
        ports:
        - containerPort: 8080
          name: http
        env:
        - name: ENVIRONMENT
          value: %[2]s
        - name: OTEL_SERVICE_NAME
          value: %[1]s
        resources:
          requests: {cpu: 100m, memory: 128Mi}
          limits: {memory: 256Mi}
        readinessProbe:
          httpGet: {path: /readyz, port: http}
          periodSeconds: 5
        livenessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 10
`

const versionMark = `app.kubernetes.io/version: "`

// versionOf reads the version back from a manifest written by manifest.
func versionOf(m string) (deploy.Version, bool) {
	_, rest, ok := strings.Cut(m, versionMark)
	if !ok {
		return 0, false
	}
	s, _, ok := strings.Cut(rest, `"`)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return deploy.Version(n), err == nil
}

// envConfigJSON is config.json as Kuberpult writes it for an environment configured so.
func envConfigJSON(cfg deploy.EnvConfig) []byte {
	b, _ := json.MarshalIndent(cfg, "", "  ")
	return append(b, '\n')
}

// generate creates the env repo as a bare repository at path with git fast-import: one
// commit with every environment's config.json and every app's manifest, then commits that
// each deploy a random app to a random environment, commits commits in all. The last
// write of every (environment, app) is the release manifest of the version the app runs
// there in a database of v releases per app (w.runs), so the tip matches the seeded
// database. It returns the tip.
//
// A history commit changes one environment, as a manual deploy or a train step does: one
// that changes all ten rewrites ten trees of 2,000 entries, which makes generating and
// fsck-ing 4,000 of them take minutes.
func generate(ctx context.Context, path string, w world, v deploy.Version, commits int, rng *rand.Rand) (string, error) {
	if _, err := git(ctx, "", "init", "-q", "--bare", "-b", "main", path); err != nil {
		return "", err
	}
	// No automatic gc in the remote: it would start at random moments of a run. The
	// benchmark repacks between phases instead (maintain).
	if _, err := git(ctx, path, "config", "gc.auto", "0"); err != nil {
		return "", err
	}
	type pair struct{ env, app int }
	seq := make([]pair, max(commits-1, 0))
	last := map[pair]int{}
	for i := range seq {
		seq[i] = pair{rng.IntN(len(w.envs)), rng.IntN(len(w.apps))}
		last[seq[i]] = i
	}

	cmd := exec.CommandContext(ctx, "git", "-C", path, "fast-import", "--quiet", "--done")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("git fast-import: %w", err)
	}
	bw := bufio.NewWriterSize(in, 1<<20)
	var files []file
	for ei, e := range w.envs {
		files = append(files, file{"environments/" + string(e) + "/config.json", string(envConfigJSON(w.config(e)))})
		for ai, a := range w.apps {
			note := "release"
			if _, later := last[pair{ei, ai}]; later {
				note = "initial"
			}
			files = append(files, file{manifestPath(e, a), manifest(a, e, w.runs(e, v), note)})
		}
	}
	writeCommit(bw, 0, "initialise the environment repo", files)
	for i, p := range seq {
		env, app, note := w.envs[p.env], w.apps[p.app], fmt.Sprintf("history %d", i)
		if last[p] == i {
			note = "release"
		}
		writeCommit(bw, i+1, fmt.Sprintf("deploy %s %d to %s", app, w.runs(env, v), env),
			[]file{{manifestPath(env, app), manifest(app, env, w.runs(env, v), note)}})
	}
	bw.WriteString("done\n")
	werr := errors.Join(bw.Flush(), in.Close())
	if err := cmd.Wait(); err != nil {
		return "", fmt.Errorf("git fast-import: %w: %s", err, stderr.String())
	}
	if werr != nil {
		return "", fmt.Errorf("git fast-import: %w", werr)
	}
	return git(ctx, path, "rev-parse", "refs/heads/main")
}

type file struct{ path, content string }

func writeCommit(w *bufio.Writer, i int, msg string, files []file) {
	ts := epoch.Add(time.Duration(i) * time.Minute).Unix()
	fmt.Fprintf(w, "commit refs/heads/main\nauthor Jane Doe <jane@example.com> %d +0000\n", ts)
	fmt.Fprintf(w, "committer Kuberpult <kuberpult@localhost> %d +0000\ndata %d\n%s\n", ts, len(msg), msg)
	for _, f := range files {
		fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n%s\n", f.path, len(f.content), f.content)
	}
	w.WriteString("\n")
}

// git runs git in dir (or the current directory) and returns its trimmed output.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	if dir != "" {
		args = append([]string{"-C", dir}, args...)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// readRef reads a branch of a bare repository straight from its files: cheap enough to
// poll every millisecond without starting git.
func readRef(bare, branch string) (string, error) {
	name := "refs/heads/" + branch
	b, err := os.ReadFile(filepath.Join(bare, name))
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	packed, err := os.ReadFile(filepath.Join(bare, "packed-refs"))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	for _, line := range strings.Split(string(packed), "\n") {
		if sha, ref, ok := strings.Cut(line, " "); ok && ref == name {
			return sha, nil
		}
	}
	return "", fmt.Errorf("no %s in %s", name, bare)
}

// catFile reads objects ("<sha>" or "<commit>:<path>") with one git cat-file --batch; a
// missing object has no entry in the result.
func catFile(ctx context.Context, repo string, names []string) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, "git", "-C", repo, "cat-file", "--batch")
	cmd.Stdin = strings.NewReader(strings.Join(names, "\n") + "\n")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	res := make(map[string]string, len(names))
	r := bufio.NewReaderSize(out, 1<<20)
	var perr error
	for _, name := range names {
		header, err := r.ReadString('\n')
		if err != nil {
			perr = fmt.Errorf("git cat-file: read %s: %w", name, err)
			break
		}
		fields := strings.Fields(header)
		if len(fields) != 3 {
			continue // "<name> missing"
		}
		size, err := strconv.Atoi(fields[2])
		if err != nil {
			perr = fmt.Errorf("git cat-file: header %q", header)
			break
		}
		buf := make([]byte, size+1)
		if _, err := io.ReadFull(r, buf); err != nil {
			perr = fmt.Errorf("git cat-file: read %s: %w", name, err)
			break
		}
		res[name] = string(buf[:size])
	}
	_, _ = io.Copy(io.Discard, r)
	if err := cmd.Wait(); err != nil && perr == nil {
		perr = fmt.Errorf("git cat-file: %w", err)
	}
	return res, perr
}

// holds reports whether commit carries version v (or a newer one) of app on every env.
func holds(ctx context.Context, bare, commit string, envs []deploy.Env, app deploy.App, v deploy.Version) (bool, error) {
	names := make([]string, len(envs))
	for i, e := range envs {
		names[i] = commit + ":" + manifestPath(e, app)
	}
	got, err := catFile(ctx, bare, names)
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if gv, ok := versionOf(got[n]); !ok || gv < v {
			return false, nil
		}
	}
	return true, nil
}

// cliClone is a full clone of the remote in which the git CLI makes the same change a
// release makes, for comparison. It works on its own branch, so Kuberpult's writer never
// sees a foreign commit on main (which would add a fetch and a retry to our figures) and
// the remote's main stays what the database says.
type cliClone struct{ dir string }

const cliBranch = "bench-cli"

func cloneForCLI(ctx context.Context, remote, dir string) (*cliClone, error) {
	if _, err := git(ctx, "", "clone", "-q", remote, dir); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"config", "user.name", "Jane Doe"}, {"config", "user.email", "jane@example.com"},
		{"config", "pull.ff", "only"}, {"checkout", "-q", "-b", cliBranch},
		{"push", "-q", "-u", "origin", cliBranch},
	} {
		if _, err := git(ctx, dir, args...); err != nil {
			return nil, err
		}
	}
	return &cliClone{dir: dir}, nil
}

// change does by hand what a release of app version v does: pull, write its manifest on
// every environment of envs (those with upstream latest), add, commit, push. It returns how long that took.
func (c *cliClone) change(ctx context.Context, envs []deploy.Env, app deploy.App, v deploy.Version) (time.Duration, error) {
	start := time.Now()
	if _, err := git(ctx, c.dir, "pull", "-q"); err != nil {
		return 0, err
	}
	paths := make([]string, len(envs))
	for i, e := range envs {
		paths[i] = manifestPath(e, app)
		if err := os.WriteFile(filepath.Join(c.dir, paths[i]), []byte(manifest(app, e, v, "release")), 0o644); err != nil {
			return 0, err
		}
	}
	if _, err := git(ctx, c.dir, append([]string{"add", "--"}, paths...)...); err != nil {
		return 0, err
	}
	msg := fmt.Sprintf("deploy %s %d to %d environments", app, v, len(envs))
	if _, err := git(ctx, c.dir, "commit", "-q", "-m", msg); err != nil {
		return 0, err
	}
	if _, err := git(ctx, c.dir, "push", "-q"); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
