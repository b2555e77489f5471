package gitrepo

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"kuberpult/deploy"
)

// genSpec describes a generated environment repository: apps on every env, each with a
// manifest of about 1 KB, config.json and an Argo CD file per env, and history commits
// that each deploy one new version.
type genSpec struct {
	envs    []deploy.Env
	apps    int
	history int
}

func genApp(i int) deploy.App { return deploy.App(fmt.Sprintf("service-%04d", i)) }

func genTeam(i int) deploy.Team { return deploy.Team(fmt.Sprintf("team-%02d", i%40)) }

func genConfig() deploy.EnvConfig {
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

// genState is the render state that goes with a generated repository.
func (g genSpec) state() deploy.RenderState {
	rs := deploy.RenderState{Teams: map[deploy.App]deploy.Team{}, Envs: deploy.Environments{}}
	for i := range g.apps {
		rs.Teams[genApp(i)] = genTeam(i)
	}
	for _, e := range g.envs {
		rs.Envs[e] = genConfig()
	}
	return rs
}

// genManifest is a Deployment and a Service, about 1 KB.
func genManifest(env deploy.Env, app deploy.App, version int64) string {
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

// generate writes the repository into a new bare repository with git fast-import.
func (g genSpec) generate(bare string) error {
	if out, err := exec.Command("git", "init", "--quiet", "--bare", "--initial-branch=main", bare).CombinedOutput(); err != nil {
		return fmt.Errorf("git init: %v: %s", err, out)
	}
	if out, err := exec.Command("git", "-C", bare, "config", "uploadpack.allowFilter", "true").CombinedOutput(); err != nil {
		return fmt.Errorf("git config: %v: %s", err, out)
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
	werr := g.write(in)
	in.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("fast-import: %w", err)
	}
	return werr
}

func (g genSpec) write(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
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
	rs := g.state()
	apps := make([]deploy.AppTeam, g.apps)
	for i := range apps {
		apps[i] = deploy.AppTeam{App: genApp(i), Team: genTeam(i)}
	}
	for _, env := range g.envs {
		cfg, err := ConfigFile(rs.Envs[env])
		if err != nil {
			return err
		}
		file(ConfigPath(env), cfg)
		file(ArgoPath(env), ArgoFile(env, rs.Envs[env], apps, testArgoURL, "main"))
		for i, a := range apps {
			file(ManifestPath(env, a.App), []byte(genManifest(env, a.App, int64(i%50+1))))
		}
	}
	for n := 2; n <= g.history; n++ {
		env := g.envs[n%len(g.envs)]
		app := genApp(n * 7 % g.apps)
		commit(n, fmt.Sprintf("deploy %s %d to %s", app, 100+n, env))
		file(ManifestPath(env, app), []byte(genManifest(env, app, int64(100+n))))
	}
	return bw.Flush()
}
