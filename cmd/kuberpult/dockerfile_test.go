package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfilePinsItsBases: every base image of the Dockerfile is pinned by a version tag
// and a digest, and the build stage uses go.mod's Go version.
func TestDockerfilePinsItsBases(t *testing.T) {
	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+\.\d+)$`).FindSubmatch(mod)
	if goLine == nil {
		t.Fatal("go.mod names no go version x.y.z")
	}
	pinned := regexp.MustCompile(`^[a-z0-9./-]+:[A-Za-z0-9._-]*\d[A-Za-z0-9._-]*@sha256:[0-9a-f]{64}$`)
	froms := 0
	for _, l := range strings.Split(string(df), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || !strings.EqualFold(f[0], "FROM") {
			continue
		}
		froms++
		if !pinned.MatchString(f[1]) {
			t.Errorf("base image %q is not pinned by a version tag and a digest", f[1])
		}
		if strings.HasPrefix(f[1], "golang:") && !strings.HasPrefix(f[1], "golang:"+string(goLine[1])+"-") {
			t.Errorf("the build stage %q does not use go.mod's Go %s", f[1], goLine[1])
		}
	}
	if froms < 2 {
		t.Errorf("found %d FROM lines", froms)
	}
}

// TestDockerfileBuildStep runs the build stage's go build command of the Dockerfile, as
// written, on this machine (Debian bookworm and go.mod's Go, as the build stage) and checks
// what it makes: a binary that runs, that needs no shared library beyond the C library the
// runtime stage's Debian has, and that needs no ssh client (the runtime stage installs none).
// The image itself is built by `docker build` (README); this checks its build step without
// a Docker daemon.
func TestDockerfileBuildStep(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary with the Dockerfile's flags")
	}
	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var build string
	for _, l := range strings.Split(string(df), "\n") {
		if c, ok := strings.CutPrefix(l, "RUN "); ok && strings.Contains(c, "go build") {
			build = c
		}
	}
	if !strings.Contains(build, "-o /out/kuberpult ./cmd/kuberpult") || !strings.Contains(build, "CGO_ENABLED=1") {
		t.Fatalf("the Dockerfile's build step is %q", build)
	}
	out := filepath.Join(t.TempDir(), "kuberpult")
	cmd := exec.Command("sh", "-c", strings.Replace(build, "/out/kuberpult", out, 1))
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, b)
	}
	if b, err := exec.Command(out, "version").CombinedOutput(); err != nil || !strings.HasPrefix(string(b), "kuberpult ") {
		t.Errorf("kuberpult version: %v %s", err, b)
	}
	ldd, err := exec.Command("ldd", out).CombinedOutput()
	if err != nil {
		t.Fatalf("ldd: %v\n%s", err, ldd)
	}
	libc := regexp.MustCompile(`^(linux-vdso\.so\.1|/lib64/ld-linux-x86-64\.so\.2|lib(c|m|pthread|dl|resolv)\.so\.\d+)\b`)
	for _, l := range strings.Split(strings.TrimSpace(string(ldd)), "\n") {
		if l = strings.TrimSpace(l); !libc.MatchString(l) {
			t.Errorf("the binary needs %q, which the runtime stage (debian slim) does not install", l)
		}
	}
	if strings.Contains(string(df), "openssh-client") {
		t.Errorf("the runtime stage installs openssh-client, which nothing runs")
	}
}
