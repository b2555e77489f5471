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
	"schedule": {},
	"policy":   {"deploy", "schedule"},
	"train":    {"deploy", "policy", "schedule"},
	"commands": {"deploy", "policy", "schedule", "train"},
	"store":    {"deploy"},
	"gitrepo":  {"deploy"},
	"argocd":   {"deploy"},
	"github":   {"deploy"},
	"config":   {"deploy", "policy", "schedule", "train"}, // a validated config holds train schedules
	"reply":    {"deploy", "policy", "schedule", "train", "commands"},
	"api":      {"deploy", "policy", "schedule", "train", "commands", "reply"},
	"console":  {"deploy", "policy", "schedule", "train", "commands", "reply"},
	"bot":      {"deploy", "policy", "schedule", "train", "commands", "reply"},
}

// modulesOnlyIn names third-party modules and the packages (with their subpackages) that
// may depend on them: one package per technology. YAML is parsed where configuration,
// manifests (validated and compared by commands) and Argo CD files are handled.
var modulesOnlyIn = map[string][]string{
	"github.com/go-git/go-git":    {"gitrepo"},
	"github.com/mattn/go-sqlite3": {"store"},
	"github.com/jackc/pgx":        {"store"},
	"github.com/slack-go/slack":   {"bot"},
	"github.com/google/go-github": {"github"},
	"github.com/robfig/cron":      {"schedule"},
	"gopkg.in/yaml.v3":            {"config", "commands", "gitrepo"},
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

// TestThirdPartyModulesStayInTheirPackage checks direct imports: commands parses YAML, and
// the adapters that use commands depend on it through commands, which is fine.
func TestThirdPartyModulesStayInTheirPackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ":")
		top, _, _ := strings.Cut(strings.TrimPrefix(pkg, module+"/"), "/")
		if top == "cmd" {
			continue
		}
		for _, d := range strings.Fields(deps) {
			for mod, owners := range modulesOnlyIn {
				if strings.HasPrefix(d, mod) && !contains(owners, top) {
					t.Errorf("%s depends on %s; only %v may", pkg, d, owners)
				}
			}
		}
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
