package main

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// allowedDeps lists, for each package, the kuberpult packages it may depend on (directly or
// not). The shape of STYLE.md: the domain in the middle, adapters at the edge, only cmd
// imports everything.
var allowedDeps = map[string][]string{
	"deploy":   {},
	"policy":   {"deploy"},
	"train":    {"deploy", "policy"},
	"commands": {"deploy", "policy", "train"},
	"store":    {"deploy"},
	"gitrepo":  {"deploy"},
	"argocd":   {"deploy"},
	"github":   {"deploy"},
	"config":   {"deploy"},
	"api":      {"deploy", "policy", "train", "commands"},
	"console":  {"deploy", "policy", "train", "commands"},
	"bot":      {"deploy", "policy", "train", "commands"},
}

const module = "kuberpult"

func TestDependencyRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Deps " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ":")
		name := strings.TrimPrefix(pkg, module+"/")
		top, _, _ := strings.Cut(name, "/")
		if top == "cmd" {
			continue
		}
		allowed, ok := allowedDeps[top]
		if !ok {
			t.Errorf("package %s is not in the dependency rules; add it to allowedDeps", pkg)
			continue
		}
		checked++
		var bad []string
		for _, d := range strings.Fields(deps) {
			if !strings.HasPrefix(d, module+"/") {
				continue
			}
			dtop, _, _ := strings.Cut(strings.TrimPrefix(d, module+"/"), "/")
			if dtop != top && !contains(allowed, dtop) {
				bad = append(bad, d)
			}
		}
		sort.Strings(bad)
		if len(bad) > 0 {
			t.Errorf("%s depends on %v; it may only use %v", pkg, bad, allowed)
		}
	}
	if checked < 5 {
		t.Fatalf("checked only %d packages; is go list working?", checked)
	}
}

func TestDomainUsesStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{if not .Standard}}{{.ImportPath}}{{end}}`, module+"/deploy").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != module+"/deploy" {
			t.Errorf("deploy depends on %s; it must use the standard library only", p)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
