package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"kuberpult/commands"
	"kuberpult/config"
)

// checkGitEqualsState compares the remote's branch with the database: every deployment's
// manifest, no other manifest, and one Argo CD Application per deployed app.
func checkGitEqualsState(t *testing.T, cfgPath, bare string) {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	db, err := openStore(context.Background(), cfg.State)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := commands.New(commands.Options{Store: db, Environments: cfg.Environments}).State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	for _, f := range strings.Split(git(t, bare, "ls-tree", "-r", "--name-only", "main"), "\n") {
		files[f] = true
	}
	for _, env := range cfg.Environments.Names() {
		argo := git(t, bare, "show", "main:argocd/v1alpha1/"+string(env)+".yaml")
		for app, d := range st.Deployments[env] {
			path := fmt.Sprintf("environments/%s/applications/%s/manifests/manifests.yaml", env, app)
			if d.Pending || d.Failed || d.Commit == "" {
				t.Errorf("%s on %s: pending %v failed %v commit %q", app, env, d.Pending, d.Failed, d.Commit)
			}
			if got := git(t, bare, "show", "main:"+path); !strings.Contains(got, fmt.Sprintf("version: %q", d.Version.String())) {
				t.Errorf("%s: want version %s, git has\n%s", path, d.Version, got)
			}
			// The commit recorded is a real one of the branch, and the one that wrote it.
			if d.Commit != "" {
				if out, err := exec.Command("git", "--git-dir", bare, "merge-base", "--is-ancestor", d.Commit, "main").CombinedOutput(); err != nil {
					t.Errorf("%s on %s: recorded commit %s is not on main: %v %s", app, env, d.Commit, err, out)
				} else if got := git(t, bare, "show", d.Commit+":"+path); !strings.Contains(got, fmt.Sprintf("version: %q", d.Version.String())) {
					t.Errorf("%s on %s: recorded commit %s does not carry version %s:\n%s", app, env, d.Commit, d.Version, got)
				}
			}
			delete(files, path)
			if !strings.Contains(argo, fmt.Sprintf("name: %s-%s\n", env, app)) {
				t.Errorf("argocd/v1alpha1/%s.yaml has no Application %s-%s", env, env, app)
			}
		}
		if n := strings.Count(argo, "kind: Application\n"); n != len(st.Deployments[env]) {
			t.Errorf("argocd/v1alpha1/%s.yaml has %d Applications, the database %d deployments", env, n, len(st.Deployments[env]))
		}
	}
	for f := range files {
		if strings.HasSuffix(f, "manifests.yaml") {
			t.Errorf("git has %s, which the database does not deploy", f)
		}
	}
	git(t, bare, "fsck", "--strict")
}
