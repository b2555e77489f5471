package main

import (
	"os"
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
