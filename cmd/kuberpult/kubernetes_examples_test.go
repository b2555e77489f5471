package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"kuberpult/config"
)

// The manifests of examples/kubernetes, checked against each other, against the Dockerfile
// and against the program: the config they ship loads with the config package, the probes
// ask the endpoints serve offers, and the pods stop within their grace period.

const k8sExamplesDir = "../../examples/kubernetes"

// k8sExpected is every file of examples/kubernetes, with the one object it holds.
var k8sExpected = map[string]struct{ apiVersion, kind string }{
	"configmap.yaml":      {"v1", "ConfigMap"},
	"secret.example.yaml": {"v1", "Secret"},
	"deployment.yaml":     {"apps/v1", "Deployment"},
	"service.yaml":        {"v1", "Service"},
	"pdb.yaml":            {"policy/v1", "PodDisruptionBudget"},
	"kustomization.yaml":  {"kustomize.config.k8s.io/v1beta1", "Kustomization"},
}

// k8sSecretExample is the Secret example, which the kustomization leaves out: applied with
// the rest it would overwrite the real Secret with its placeholders.
const k8sSecretExample = "secret.example.yaml"

// k8sPlaceholder marks every value of the Secret example as one to replace.
const k8sPlaceholder = "REPLACE_ME"

// writerStopTimeout is how long a stopping writer waits for the push in flight (the git
// writer's default StopTimeout, which serve keeps).
const writerStopTimeout = 20 * time.Second

// The parts of the objects the checks read.
type (
	k8sMeta struct {
		Name        string            `yaml:"name"`
		Namespace   string            `yaml:"namespace"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	}
	k8sHeader struct {
		APIVersion string  `yaml:"apiVersion"`
		Kind       string  `yaml:"kind"`
		Metadata   k8sMeta `yaml:"metadata"`
	}
	k8sSelector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	k8sProbe struct {
		HTTPGet *struct {
			Path   string      `yaml:"path"`
			Port   intOrString `yaml:"port"`
			Scheme string      `yaml:"scheme"`
		} `yaml:"httpGet"`
	}
	k8sContainer struct {
		Name    string   `yaml:"name"`
		Image   string   `yaml:"image"`
		Command []string `yaml:"command"`
		Args    []string `yaml:"args"`
		Env     []struct {
			Name  string `yaml:"name"`
			Value string `yaml:"value"`
		} `yaml:"env"`
		EnvFrom []struct {
			SecretRef *struct {
				Name string `yaml:"name"`
			} `yaml:"secretRef"`
		} `yaml:"envFrom"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		StartupProbe   *k8sProbe `yaml:"startupProbe"`
		LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
		ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
		Lifecycle      struct {
			PreStop *struct {
				Exec *struct {
					Command []string `yaml:"command"`
				} `yaml:"exec"`
			} `yaml:"preStop"`
		} `yaml:"lifecycle"`
		Resources struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		SecurityContext struct {
			RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
			RunAsUser                *int  `yaml:"runAsUser"`
			ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		} `yaml:"securityContext"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
			SubPath   string `yaml:"subPath"`
		} `yaml:"volumeMounts"`
	}
	k8sAffinityTerm struct {
		TopologyKey   string      `yaml:"topologyKey"`
		LabelSelector k8sSelector `yaml:"labelSelector"`
	}
	k8sDeployment struct {
		Spec struct {
			Replicas *int        `yaml:"replicas"`
			Selector k8sSelector `yaml:"selector"`
			Strategy struct {
				Type          string `yaml:"type"`
				RollingUpdate *struct {
					MaxSurge       *intOrString `yaml:"maxSurge"`
					MaxUnavailable *intOrString `yaml:"maxUnavailable"`
				} `yaml:"rollingUpdate"`
			} `yaml:"strategy"`
			Template struct {
				Metadata k8sMeta `yaml:"metadata"`
				Spec     struct {
					TerminationGracePeriodSeconds *int `yaml:"terminationGracePeriodSeconds"`
					SecurityContext               struct {
						RunAsNonRoot *bool `yaml:"runAsNonRoot"`
						RunAsUser    *int  `yaml:"runAsUser"`
					} `yaml:"securityContext"`
					Affinity struct {
						PodAntiAffinity *struct {
							Required  []k8sAffinityTerm `yaml:"requiredDuringSchedulingIgnoredDuringExecution"`
							Preferred []struct {
								Weight          int             `yaml:"weight"`
								PodAffinityTerm k8sAffinityTerm `yaml:"podAffinityTerm"`
							} `yaml:"preferredDuringSchedulingIgnoredDuringExecution"`
						} `yaml:"podAntiAffinity"`
					} `yaml:"affinity"`
					TopologySpreadConstraints []k8sAffinityTerm `yaml:"topologySpreadConstraints"`
					Containers                []k8sContainer    `yaml:"containers"`
					Volumes                   []struct {
						Name      string `yaml:"name"`
						ConfigMap *struct {
							Name  string `yaml:"name"`
							Items []struct {
								Key  string `yaml:"key"`
								Path string `yaml:"path"`
							} `yaml:"items"`
						} `yaml:"configMap"`
						EmptyDir *struct {
							SizeLimit string `yaml:"sizeLimit"`
						} `yaml:"emptyDir"`
					} `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	k8sService struct {
		Spec struct {
			Type     string            `yaml:"type"`
			Selector map[string]string `yaml:"selector"`
			Ports    []struct {
				Name       string      `yaml:"name"`
				Port       int         `yaml:"port"`
				TargetPort intOrString `yaml:"targetPort"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	k8sPDB struct {
		Spec struct {
			MinAvailable   *intOrString `yaml:"minAvailable"`
			MaxUnavailable *intOrString `yaml:"maxUnavailable"`
			Selector       k8sSelector  `yaml:"selector"`
		} `yaml:"spec"`
	}
	k8sData struct {
		Data       map[string]string `yaml:"data"`
		StringData map[string]string `yaml:"stringData"`
	}
	k8sKustomization struct {
		Namespace string   `yaml:"namespace"`
		Resources []string `yaml:"resources"`
	}
)

// intOrString is a Kubernetes IntOrString (a port number or name, a count or a percentage),
// as written.
type intOrString string

func (v *intOrString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a number or a name", n.Line)
	}
	*v = intOrString(n.Value)
	return nil
}

// readK8sExamples returns the files under examples/kubernetes by their path in it.
func readK8sExamples(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(k8sExamplesDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(k8sExamplesDir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestKubernetesExamples: the manifests under examples/kubernetes fit together and fit
// Kuberpult (see checkK8sExamples).
func TestKubernetesExamples(t *testing.T) {
	for _, p := range checkK8sExamples(t, readK8sExamples(t)) {
		t.Error(p)
	}
}

// TestKubernetesExamplesChecksFail: each check of checkK8sExamples finds the mistake it is
// there for (the manifests are broken one way at a time, in memory).
func TestKubernetesExamplesChecksFail(t *testing.T) {
	type mutation struct {
		name, file, old, new string // old "": file is added with new as its content (removed if new is "" too)
		want                 string // part of a problem checkK8sExamples must report
	}
	mutations := []mutation{
		{"missing file", "pdb.yaml", "", "", "pdb.yaml: missing"},
		{"unexpected file", "ingress.yaml", "", "apiVersion: networking.k8s.io/v1\nkind: Ingress\n", "unexpected file"},
		{"empty file", "service.yaml", "", "# nothing yet\n", "service.yaml: empty"},
		{"second document", "service.yaml", "apiVersion: v1\nkind: Service", "apiVersion: v1\nkind: Service\n---\napiVersion: v1\nkind: Service", "2 YAML documents"},
		{"invalid YAML", "pdb.yaml", "  minAvailable: 1", "  minAvailable: [1", "pdb.yaml: yaml:"},
		{"deployment apiVersion", "deployment.yaml", "apiVersion: apps/v1", "apiVersion: extensions/v1beta1", "deployment.yaml: apiVersion"},
		{"pdb apiVersion", "pdb.yaml", "apiVersion: policy/v1", "apiVersion: policy/v1beta1", "pdb.yaml: apiVersion"},
		{"service kind", "service.yaml", "kind: Service", "kind: Services", "service.yaml: apiVersion"},
		{"kustomization lists a missing file", "kustomization.yaml", "  - pdb.yaml", "  - pdbs.yaml", "pdbs.yaml, which does not exist"},
		{"kustomization forgets a manifest", "kustomization.yaml", "  - service.yaml\n", "", "does not list service.yaml"},
		{"kustomization applies the Secret example", "kustomization.yaml", "  - pdb.yaml\n", "  - pdb.yaml\n  - secret.example.yaml\n", "lists secret.example.yaml"},
		{"secret namespace", "secret.example.yaml", "namespace: kuberpult", "namespace: default", "metadata.namespace"},
		{"replicas", "deployment.yaml", "replicas: 2", "replicas: 3", "spec.replicas"},
		{"strategy", "deployment.yaml", "type: RollingUpdate", "type: Recreate", "spec.strategy.type"},
		{"max unavailable", "deployment.yaml", "maxUnavailable: 0", "maxUnavailable: 2", "maxUnavailable 2"},
		{"grace period", "deployment.yaml", "terminationGracePeriodSeconds: 45", "terminationGracePeriodSeconds: 30", "terminationGracePeriodSeconds"},
		{"deployment selector", "deployment.yaml", "    matchLabels:\n      app.kubernetes.io/name: kuberpult\n", "    matchLabels:\n      app.kubernetes.io/name: kuberpult-x\n", "deployment.yaml: spec.selector"},
		{"service selector", "service.yaml", "  selector:\n    app.kubernetes.io/name: kuberpult\n", "  selector:\n    app.kubernetes.io/name: kuberpult-api\n", "service.yaml: spec.selector"},
		{"pdb selector", "pdb.yaml", "      app.kubernetes.io/instance: kuberpult", "      app.kubernetes.io/instance: other", "pdb.yaml: spec.selector"},
		{"pdb budget", "pdb.yaml", "minAvailable: 1", "minAvailable: 2", "minAvailable"},
		{"object labels", "configmap.yaml", "    app.kubernetes.io/instance: kuberpult\n", "    app.kubernetes.io/instance: other\n", "configmap.yaml: metadata.labels"},
		{"anti-affinity selector", "deployment.yaml", "                  matchLabels:\n                    app.kubernetes.io/name: kuberpult\n", "                  matchLabels:\n                    app.kubernetes.io/name: nginx\n", "podAntiAffinity"},
		{"anti-affinity topology", "deployment.yaml", "topologyKey: kubernetes.io/hostname", "topologyKey: topology.kubernetes.io/zone", "kubernetes.io/hostname"},
		{"spread selector", "deployment.yaml", "            matchLabels:\n              app.kubernetes.io/name: kuberpult\n", "            matchLabels:\n              app.kubernetes.io/name: nginx\n", "topologySpreadConstraints"},
		{"liveness path", "deployment.yaml", "livenessProbe:\n            httpGet: {path: /healthz", "livenessProbe:\n            httpGet: {path: /health", "livenessProbe"},
		{"readiness path", "deployment.yaml", "readinessProbe:\n            httpGet: {path: /readyz", "readinessProbe:\n            httpGet: {path: /healthz", "readinessProbe"},
		{"startup probe port", "deployment.yaml", "startupProbe:\n            httpGet: {path: /healthz, port: http}", "startupProbe:\n            httpGet: {path: /healthz, port: 9090}", "startupProbe"},
		{"no startup probe", "deployment.yaml", "startupProbe:", "startupProbeX:", "startupProbe"},
		{"container port", "deployment.yaml", "containerPort: 8080", "containerPort: 9090", "api.listen"},
		{"service port", "service.yaml", "port: 80\n", "port: 8080\n", "port 80"},
		{"service target port", "service.yaml", "targetPort: http", "targetPort: web", "targetPort"},
		{"metrics annotation", "deployment.yaml", `prometheus.io/port: "8080"`, `prometheus.io/port: "9090"`, "prometheus.io/port"},
		{"secret lacks a variable", "secret.example.yaml", "  ARGOCD_TOKEN: \"REPLACE_ME\"\n", "", "ARGOCD_TOKEN"},
		{"secret has a stray key", "secret.example.yaml", "  ARGOCD_TOKEN:", "  SENTRY_DSN: \"REPLACE_ME\"\n  ARGOCD_TOKEN:", "SENTRY_DSN"},
		{"secret data", "secret.example.yaml", "stringData:", "data:", "stringData"},
		{"secret value not marked", "secret.example.yaml", "xoxb-REPLACE_ME", "xoxb-1234567890", "SLACK_BOT_TOKEN"},
		{"envFrom secret name", "deployment.yaml", "secretRef:\n                name: kuberpult", "secretRef:\n                name: kuberpult-env", "envFrom"},
		{"config unknown key", "configmap.yaml", "      branch: main", "      branchh: main", "unknown key"},
		{"config invalid value", "configmap.yaml", "default_channel: C0123456789", "default_channel: deployments", "slack.default_channel"},
		{"config warning", "configmap.yaml", "        upstream: {latest: true}\n        argocd:\n          destination: {name: development, namespace: shop}\n          syncOptions: [CreateNamespace=true]\n", "        upstream: {latest: true}\n", "check-config warns"},
		{"config on SQLite with replicas", "configmap.yaml", "      postgres:\n        dsn: ${KUBERPULT_DATABASE_URL}", "      sqlite: /data/kuberpult.db", "PostgreSQL"},
		{"config listen port", "configmap.yaml", `listen: ":8080"`, `listen: ":9000"`, "api.listen"},
		{"config mount path", "deployment.yaml", "mountPath: /etc/kuberpult\n", "mountPath: /etc/kuberpult/conf\n", "--config"},
		{"config argument", "deployment.yaml", "/etc/kuberpult/config.yaml", "/etc/kuberpult/kuberpult.yaml", "--config"},
		{"config volume", "deployment.yaml", "name: kuberpult-config", "name: kuberpult-cfg", "ConfigMap"},
		{"command", "deployment.yaml", `args: ["serve",`, `args: ["console",`, "serve"},
		{"run as root", "deployment.yaml", "runAsNonRoot: true", "runAsNonRoot: false", "runAsNonRoot"},
		{"another user", "deployment.yaml", "runAsUser: 10001", "runAsUser: 1000", "runAsUser"},
		{"writable root", "deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem"},
		{"no /tmp", "deployment.yaml", "mountPath: /tmp", "mountPath: /scratch", "/tmp"},
		{"memory limit", "deployment.yaml", "memory: 512Mi", "memory: 128Mi", "memory"},
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			files := readK8sExamples(t)
			switch data, ok := files[m.file]; {
			case m.old == "" && m.new == "":
				delete(files, m.file)
			case m.old == "":
				files[m.file] = []byte(m.new)
			case !ok || !bytes.Contains(data, []byte(m.old)):
				t.Fatalf("%s does not contain %q any more: update this mutation", m.file, m.old)
			default:
				files[m.file] = bytes.Replace(data, []byte(m.old), []byte(m.new), 1)
			}
			problems := checkK8sExamples(t, files)
			for _, p := range problems {
				if strings.Contains(p, m.want) {
					t.Log(p)
					return
				}
			}
			t.Errorf("no problem mentions %q; got %q", m.want, problems)
		})
	}
}

// checkK8sExamples checks the manifests (by their path under examples/kubernetes) and
// returns the problems found. It sets the environment variables the config reads (t.Setenv).
func checkK8sExamples(t *testing.T, files map[string][]byte) []string {
	t.Helper()
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// Every file is expected, holds one document of the expected kind.
	docs := map[string]*yaml.Node{}
	meta := map[string]k8sMeta{} // metadata by file
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		want, ok := k8sExpected[name]
		if !ok {
			fail("%s: unexpected file in examples/kubernetes; add it to k8sExpected and check it", name)
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader(files[name]))
		var nodes []*yaml.Node
		var err error
		for err == nil {
			var n yaml.Node
			if err = dec.Decode(&n); err == nil {
				nodes = append(nodes, &n)
			}
		}
		switch {
		case !errors.Is(err, io.EOF):
			fail("%s: %v", name, err)
			continue
		case len(nodes) == 0:
			fail("%s: empty", name)
			continue
		case len(nodes) != 1:
			fail("%s: %d YAML documents, want 1", name, len(nodes))
			continue
		}
		var h k8sHeader
		if err := nodes[0].Decode(&h); err != nil {
			fail("%s: %v", name, err)
			continue
		}
		if h.APIVersion != want.apiVersion || h.Kind != want.kind {
			fail("%s: apiVersion %q, kind %q; want %s %s", name, h.APIVersion, h.Kind, want.apiVersion, want.kind)
			continue
		}
		docs[name] = nodes[0]
		meta[name] = h.Metadata
	}
	expected := make([]string, 0, len(k8sExpected))
	for name := range k8sExpected {
		expected = append(expected, name)
	}
	sort.Strings(expected)
	for _, name := range expected {
		if _, ok := files[name]; !ok {
			fail("%s: missing", name)
		}
	}
	decode := func(name string, v any) bool {
		n := docs[name]
		if n == nil {
			return false // reported above
		}
		if err := n.Decode(v); err != nil {
			fail("%s: %v", name, err)
			return false
		}
		return true
	}
	var (
		cm, secret k8sData
		dep        k8sDeployment
		svc        k8sService
		pdb        k8sPDB
		kust       k8sKustomization
	)
	haveCM := decode("configmap.yaml", &cm)
	haveSecret := decode(k8sSecretExample, &secret)
	haveDep := decode("deployment.yaml", &dep)
	haveSvc := decode("service.yaml", &svc)
	havePDB := decode("pdb.yaml", &pdb)
	haveKust := decode("kustomization.yaml", &kust)
	depSpec, podSpec := dep.Spec, dep.Spec.Template.Spec
	podLabels := dep.Spec.Template.Metadata.Labels
	containerPorts := map[string]int{} // by name, and by number as written
	httpPort := 0                      // the port the Service sends to
	configArg, configPath := "", ""    // --config, and its key in the ConfigMap

	// The kustomization applies every manifest but the Secret example.
	if haveKust {
		for _, r := range kust.Resources {
			if _, ok := files[r]; !ok {
				fail("kustomization.yaml: lists %s, which does not exist", r)
			}
		}
		for _, name := range expected {
			switch listed := slices.Contains(kust.Resources, name); {
			case name == k8sSecretExample && listed:
				fail("kustomization.yaml: lists %s: `kubectl apply -k` would overwrite the real Secret with its placeholders", name)
			case name != k8sSecretExample && k8sExpected[name].kind != "Kustomization" && !listed:
				fail("kustomization.yaml: does not list %s", name)
			}
		}
		if haveSecret && kust.Namespace != "" && meta[k8sSecretExample].Namespace != kust.Namespace {
			fail("%s: metadata.namespace %q; the kustomization puts the pods in namespace %q", k8sSecretExample, meta[k8sSecretExample].Namespace, kust.Namespace)
		}
	}

	if !haveDep {
		return problems // the rest is about the Deployment
	}

	// Replicas and how they are replaced, stopped and spread.
	replicas := 1
	if depSpec.Replicas != nil {
		replicas = *depSpec.Replicas
	}
	if replicas != 2 {
		fail("deployment.yaml: spec.replicas %d, want 2", replicas)
	}
	if s := depSpec.Strategy; s.Type != "" && s.Type != "RollingUpdate" {
		fail("deployment.yaml: spec.strategy.type %s: with several replicas on PostgreSQL use RollingUpdate, which keeps one serving", s.Type)
	} else if ru := s.RollingUpdate; ru == nil || ru.MaxUnavailable == nil {
		fail("deployment.yaml: spec.strategy.rollingUpdate.maxUnavailable is not set (the default 25%% rounds down to 0, but say it)")
	} else if n, err := strconv.Atoi(string(*ru.MaxUnavailable)); err != nil || n < 0 || n >= replicas {
		fail("deployment.yaml: spec.strategy.rollingUpdate.maxUnavailable %s: want a number below the %d replicas, so one keeps serving", *ru.MaxUnavailable, replicas)
	}
	preStop := 0
	if len(podSpec.Containers) > 0 {
		if ps := podSpec.Containers[0].Lifecycle.PreStop; ps != nil && ps.Exec != nil {
			if c := ps.Exec.Command; len(c) == 2 && c[0] == "sleep" {
				preStop, _ = strconv.Atoi(c[1])
			}
		}
	}
	need := time.Duration(preStop)*time.Second + writerStopTimeout + drainTimeout
	if g := podSpec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= need {
		fail("deployment.yaml: terminationGracePeriodSeconds must exceed %v: the preStop pause, the push in flight (%v) and the drain (%v)", need, writerStopTimeout, drainTimeout)
	}
	selector := depSpec.Selector.MatchLabels
	matches := func(where string, sel map[string]string) {
		if len(sel) == 0 {
			fail("%s: empty selector", where)
			return
		}
		for k, v := range sel {
			if podLabels[k] != v {
				fail("%s %s=%s does not match the pod template's labels %v", where, k, v, podLabels)
			}
		}
	}
	matches("deployment.yaml: spec.selector.matchLabels", selector)
	if aa := podSpec.Affinity.PodAntiAffinity; aa == nil || len(aa.Preferred) == 0 {
		fail("deployment.yaml: no preferred podAntiAffinity: both replicas may land on one node")
	} else {
		for _, p := range aa.Preferred {
			matches("deployment.yaml: podAntiAffinity labelSelector", p.PodAffinityTerm.LabelSelector.MatchLabels)
			if p.PodAffinityTerm.TopologyKey != "kubernetes.io/hostname" {
				fail("deployment.yaml: podAntiAffinity topologyKey %q, want kubernetes.io/hostname (different nodes)", p.PodAffinityTerm.TopologyKey)
			}
		}
	}
	for _, c := range podSpec.TopologySpreadConstraints {
		matches("deployment.yaml: topologySpreadConstraints labelSelector", c.LabelSelector.MatchLabels)
	}
	objLabels := func(name string) {
		for k, v := range selector {
			if meta[name].Labels[k] != v {
				fail("%s: metadata.labels lack %s=%s, which every object of the example carries", name, k, v)
			}
		}
	}

	// The container: what it runs, as whom, with how much memory.
	if len(podSpec.Containers) != 1 {
		fail("deployment.yaml: %d containers, want 1", len(podSpec.Containers))
		return problems
	}
	c := podSpec.Containers[0]
	if len(c.Command) > 0 {
		fail("deployment.yaml: command %q replaces the image's entry point, the binary; give args only", c.Command)
	}
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		fail("deployment.yaml: args %q: want serve --config <file>", c.Args)
	}
	for i, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			configArg = v
		} else if a == "--config" && i+1 < len(c.Args) {
			configArg = c.Args[i+1]
		}
	}
	if configArg == "" {
		fail("deployment.yaml: args %q have no --config", c.Args)
	}
	dockerfile, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	imageUser := regexp.MustCompile(`(?m)^USER (\d+)\s*$`).FindSubmatch(dockerfile)
	imageListen := regexp.MustCompile(`(?m)^ENV ` + config.ListenEnv + `=(\S+)\s*$`).FindSubmatch(dockerfile)
	if imageUser == nil || imageListen == nil {
		t.Fatalf("the Dockerfile has no USER <uid> or ENV %s=<host:port> line", config.ListenEnv)
	}
	nonRoot := c.SecurityContext.RunAsNonRoot
	if nonRoot == nil {
		nonRoot = podSpec.SecurityContext.RunAsNonRoot
	}
	if nonRoot == nil || !*nonRoot {
		fail("deployment.yaml: runAsNonRoot is not true")
	}
	for _, u := range []*int{podSpec.SecurityContext.RunAsUser, c.SecurityContext.RunAsUser} {
		if u != nil && strconv.Itoa(*u) != string(imageUser[1]) {
			fail("deployment.yaml: runAsUser %d is not the image's user %s (Dockerfile)", *u, imageUser[1])
		}
	}
	if c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
		fail("deployment.yaml: allowPrivilegeEscalation is not false")
	}
	readOnly := c.SecurityContext.ReadOnlyRootFilesystem != nil && *c.SecurityContext.ReadOnlyRootFilesystem
	if !readOnly {
		fail("deployment.yaml: readOnlyRootFilesystem is not true")
	}
	if req, lim := k8sQuantity(c.Resources.Requests["memory"]), k8sQuantity(c.Resources.Limits["memory"]); req < defaultMemoryLimit || lim < req || lim < 2*defaultMemoryLimit {
		fail("deployment.yaml: memory request %q, limit %q: serve keeps its heap near %d MiB, so request at least that and limit at least twice it",
			c.Resources.Requests["memory"], c.Resources.Limits["memory"], defaultMemoryLimit>>20)
	}

	// Ports, probes, Service and PDB.
	for _, p := range c.Ports {
		if p.Name != "" {
			containerPorts[p.Name] = p.ContainerPort
		}
		containerPorts[strconv.Itoa(p.ContainerPort)] = p.ContainerPort
	}
	if _, ok := containerPorts["http"]; !ok {
		fail("deployment.yaml: no container port named http")
	}
	for _, pr := range []struct {
		name, path string
		probe      *k8sProbe
	}{{"startupProbe", "/healthz", c.StartupProbe}, {"livenessProbe", "/healthz", c.LivenessProbe}, {"readinessProbe", "/readyz", c.ReadinessProbe}} {
		switch {
		case pr.probe == nil || pr.probe.HTTPGet == nil:
			fail("deployment.yaml: no %s httpGet", pr.name)
		case pr.probe.HTTPGet.Path != pr.path:
			fail("deployment.yaml: %s asks %s, want %s", pr.name, pr.probe.HTTPGet.Path, pr.path)
		case containerPorts[string(pr.probe.HTTPGet.Port)] == 0:
			fail("deployment.yaml: %s port %s is not a port of the container", pr.name, pr.probe.HTTPGet.Port)
		case pr.probe.HTTPGet.Scheme != "" && pr.probe.HTTPGet.Scheme != "HTTP":
			fail("deployment.yaml: %s scheme %s: the API speaks plain HTTP", pr.name, pr.probe.HTTPGet.Scheme)
		}
	}
	if haveSvc {
		objLabels("service.yaml")
		if svc.Spec.Type != "" && svc.Spec.Type != "ClusterIP" {
			fail("service.yaml: type %s, want ClusterIP", svc.Spec.Type)
		}
		matches("service.yaml: spec.selector", svc.Spec.Selector)
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 {
			fail("service.yaml: want one port, port 80")
		} else if httpPort = containerPorts[string(svc.Spec.Ports[0].TargetPort)]; httpPort == 0 {
			fail("service.yaml: targetPort %s is not a port of the container", svc.Spec.Ports[0].TargetPort)
		}
	}
	if httpPort == 0 {
		httpPort = containerPorts["http"]
	}
	if p, ok := dep.Spec.Template.Metadata.Annotations["prometheus.io/port"]; ok && p != strconv.Itoa(httpPort) {
		fail("deployment.yaml: annotation prometheus.io/port %s, but the API listens on %d", p, httpPort)
	}
	if havePDB {
		objLabels("pdb.yaml")
		matches("pdb.yaml: spec.selector.matchLabels", pdb.Spec.Selector.MatchLabels)
		minA, maxU := pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable
		switch {
		case (minA == nil) == (maxU == nil):
			fail("pdb.yaml: set one of minAvailable and maxUnavailable")
		case minA != nil && (*minA != "1"):
			fail("pdb.yaml: minAvailable %s, want 1 (of %d replicas: one may be evicted at a time)", *minA, replicas)
		case maxU != nil && (*maxU != "1"):
			fail("pdb.yaml: maxUnavailable %s, want 1", *maxU)
		}
	}
	objLabels("deployment.yaml")

	// Volumes: the ConfigMap at the --config path, /tmp writable.
	volumes := map[string]int{}
	for i, v := range podSpec.Volumes {
		volumes[v.Name] = i
	}
	tmp := false
	for _, m := range c.VolumeMounts {
		i, ok := volumes[m.Name]
		if !ok {
			fail("deployment.yaml: volumeMount %s has no volume", m.Name)
			continue
		}
		v := podSpec.Volumes[i]
		if m.MountPath == "/tmp" && v.EmptyDir != nil {
			tmp = true
		}
		if v.ConfigMap == nil || configArg == "" {
			continue
		}
		if v.ConfigMap.Name != meta["configmap.yaml"].Name {
			fail("deployment.yaml: volume %s mounts ConfigMap %q, not %q of configmap.yaml", v.Name, v.ConfigMap.Name, meta["configmap.yaml"].Name)
			continue
		}
		key := ""
		if m.SubPath != "" {
			if m.MountPath == configArg {
				key = m.SubPath
			}
		} else if rel, ok := strings.CutPrefix(configArg, strings.TrimSuffix(m.MountPath, "/")+"/"); ok {
			key = rel
		}
		for _, it := range v.ConfigMap.Items {
			if it.Path == key {
				key = it.Key
			}
		}
		if key != "" {
			configPath = key
		}
	}
	if readOnly && !tmp {
		fail("deployment.yaml: readOnlyRootFilesystem without an emptyDir at /tmp (git's temporary files)")
	}
	if configArg != "" && configPath == "" {
		fail("deployment.yaml: --config %s is not in a mounted volume of the ConfigMap", configArg)
	}

	if !haveCM || !haveSecret {
		return problems
	}
	objLabels("configmap.yaml")
	objLabels(k8sSecretExample)

	// The Secret example provides what the config reads, to the pods.
	fromSecret := false
	for _, e := range c.EnvFrom {
		fromSecret = fromSecret || e.SecretRef != nil && e.SecretRef.Name == meta[k8sSecretExample].Name
	}
	if !fromSecret {
		fail("deployment.yaml: no envFrom secretRef names the Secret %q of %s", meta[k8sSecretExample].Name, k8sSecretExample)
	}
	if len(secret.Data) > 0 {
		fail("%s: use stringData (readable placeholders), not data", k8sSecretExample)
	}
	if configPath == "" {
		return problems
	}
	text, ok := cm.Data[configPath]
	if !ok {
		fail("configmap.yaml: no key %s (--config %s)", configPath, configArg)
		return problems
	}
	vars, err := k8sConfigVars([]byte(text))
	if err != nil {
		fail("configmap.yaml: %s: %v", configPath, err)
		return problems
	}
	for _, v := range vars {
		if _, ok := secret.StringData[v]; !ok {
			fail("%s: no key %s, which configmap.yaml's %s reads as ${%s}", k8sSecretExample, v, configPath, v)
		}
	}
	keys := make([]string, 0, len(secret.StringData))
	for k := range secret.StringData {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(vars, k) {
			fail("%s: key %s is not read by configmap.yaml's %s", k8sSecretExample, k, configPath)
		}
		if !strings.Contains(secret.StringData[k], k8sPlaceholder) {
			fail("%s: the value of %s does not say %s: every value there is a placeholder", k8sSecretExample, k, k8sPlaceholder)
		}
	}

	// The config loads and validates as the pods would load it: the Secret's values as the
	// variables, the listen address of the Deployment's environment, else the image's.
	for _, k := range keys {
		t.Setenv(k, secret.StringData[k])
	}
	listen := string(imageListen[1])
	for _, e := range c.Env {
		if e.Name == config.ListenEnv {
			listen = e.Value
		}
	}
	t.Setenv(config.ListenEnv, listen)
	file := filepath.Join(t.TempDir(), path.Base(configPath))
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check-config", "--config", file}, nil, &out, io.Discard); err != nil {
		fail("configmap.yaml: %s: check-config: %v", configPath, err)
		return problems
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if w, ok := strings.CutPrefix(l, "warning: "); ok {
			fail("configmap.yaml: %s: check-config warns: %s", configPath, w)
		}
	}
	cfg, err := config.Load(file)
	if err != nil {
		fail("configmap.yaml: %s: %v", configPath, err)
		return problems
	}
	if replicas > 1 && (cfg.State.Postgres.DSN == "" || cfg.State.SQLite != "") {
		fail("configmap.yaml: %s: %d replicas need state.postgres (PostgreSQL); SQLite is for one replica", configPath, replicas)
	}
	if _, port, err := net.SplitHostPort(cfg.API.Listen); err != nil || port != strconv.Itoa(httpPort) {
		fail("configmap.yaml: %s: api.listen %q is not the port %d the Service and the probes use", configPath, cfg.API.Listen, httpPort)
	}
	return problems
}

// k8sConfigVars returns the environment variables a Kuberpult config reads: the NAME of every
// ${NAME} in a value (not in keys or comments; $$ is a literal dollar sign), as the config
// package expands them.
func k8sConfigVars(data []byte) ([]string, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	var vars []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c)
			}
		case yaml.MappingNode:
			for i := 1; i < len(n.Content); i += 2 {
				walk(n.Content[i])
			}
		case yaml.ScalarNode:
			s := n.Value
			for i := 0; i+1 < len(s); i++ {
				switch {
				case s[i] != '$':
				case s[i+1] == '$':
					i++
				case s[i+1] == '{':
					if end := strings.IndexByte(s[i+2:], '}'); end >= 0 {
						if name := s[i+2 : i+2+end]; !slices.Contains(vars, name) {
							vars = append(vars, name)
						}
						i += 2 + end
					}
				}
			}
		} // aliases: expanded where their anchor is
	}
	walk(&root)
	sort.Strings(vars)
	return vars, nil
}

// k8sQuantity is a Kubernetes memory quantity in bytes (0 if it is not one).
func k8sQuantity(q string) int64 {
	units := []struct {
		suffix string
		factor int64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(q, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				return 0
			}
			return v * u.factor
		}
	}
	return 0
}
