package gitrepo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

func TestWriteFirstCommitIntoEmptyRepo(t *testing.T) {
	bare := newBare(t)
	w := openWriter(t, bare)
	e := deployEntry(7, "development", "checkout", "kind: ConfigMap\nmetadata:\n  name: checkout\n")
	pushed, err := w.Write(context.Background(), []deploy.OutboxEntry{e})
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	head := run(t, bare, "rev-parse", "main")
	if diff := cmp.Diff([]deploy.Pushed{{ID: 7, Commit: head}}, pushed); diff != "" {
		t.Errorf("pushed (-want +got):\n%s", diff)
	}
	files, err := ChangeFiles(e.Change, "https://git.example.com/org/envrepo.git", "main")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		// git show drops the final newline of the output; compare the trimmed content.
		got := run(t, bare, "show", "main:"+f.Path)
		if diff := cmp.Diff(strings.TrimRight(string(f.Content), "\n"), got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", f.Path, diff)
		}
	}
	got := run(t, bare, "log", "--format=%an/%ae %cn/%ce %ad %P|%s", "--date=iso-strict", "main")
	want := "Alice Example/alice@example.com Kuberpult/kuberpult@example.com 2026-03-01T10:07:00+00:00 |deploy checkout to development"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if got := run(t, bare, "fsck", "--strict"); strings.Contains(got, "error") {
		t.Errorf("fsck: %s", got)
	}
	if s := w.Stats(); s.CommitsPushed != 1 || s.PushFailures != 0 || !s.LastPushTime.Equal(fixedNow()) {
		t.Errorf("stats = %+v", s)
	}
}

func TestWriteAuthorFallsBackToCommitter(t *testing.T) {
	bare := newBare(t)
	w := openWriter(t, bare)
	e := deployEntry(1, "development", "checkout", "a: 1\n")
	e.Change.Author = deploy.Actor{}
	if _, err := w.Write(context.Background(), []deploy.OutboxEntry{e}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("Kuberpult/kuberpult@example.com", run(t, bare, "log", "--format=%an/%ae", "main")); diff != "" {
		t.Errorf("author (-want +got):\n%s", diff)
	}
}

func TestWriteChangesNothing(t *testing.T) {
	tests := []struct {
		name  string
		first []deploy.OutboxEntry // written in one Write before
		then  []deploy.OutboxEntry
		want  []deploy.Pushed // "x" marks a commit
	}{
		{
			name: "same entry again in the same batch",
			then: []deploy.OutboxEntry{deployEntry(1, "dev", "checkout", "v: 1\n"), deployEntry(2, "dev", "checkout", "v: 1\n")},
			want: []deploy.Pushed{{ID: 1, Commit: "x"}, {ID: 2}},
		},
		{
			name:  "same entry in a later write",
			first: []deploy.OutboxEntry{deployEntry(1, "dev", "checkout", "v: 1\n")},
			then:  []deploy.OutboxEntry{deployEntry(2, "dev", "checkout", "v: 1\n")},
			want:  []deploy.Pushed{{ID: 2}},
		},
		{
			name:  "other message, same content",
			first: []deploy.OutboxEntry{deployEntry(1, "dev", "checkout", "v: 1\n")},
			then: []deploy.OutboxEntry{func() deploy.OutboxEntry {
				e := deployEntry(2, "dev", "checkout", "v: 1\n")
				e.Change.Message = "release train"
				return e
			}()},
			want: []deploy.Pushed{{ID: 2}},
		},
		{
			name:  "removing an app that is not there",
			first: []deploy.OutboxEntry{deployEntry(1, "dev", "checkout", "v: 1\n")},
			then: []deploy.OutboxEntry{func() deploy.OutboxEntry {
				e := deployEntry(2, "dev", "checkout", "v: 1\n")
				e.Change.Envs[0].Manifests = []deploy.AppManifest{{App: "cart", Remove: true}}
				return e
			}()},
			want: []deploy.Pushed{{ID: 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bare := newBare(t)
			w := openWriter(t, bare)
			ctx := context.Background()
			if len(tt.first) > 0 {
				if _, err := w.Write(ctx, tt.first); err != nil {
					t.Fatal(err)
				}
			}
			before := run(t, bare, "rev-list", "--count", "--all")
			got, err := w.Write(ctx, tt.then)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i].Commit != "" {
					got[i].Commit = "x"
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("pushed (-want +got):\n%s", diff)
			}
			if len(tt.first) > 0 {
				if after := run(t, bare, "rev-list", "--count", "--all"); after != before {
					t.Errorf("commits: %s before, %s after", before, after)
				}
			}
		})
	}
}

func TestWriteRemovesAppDirectory(t *testing.T) {
	bare := newBare(t)
	w := openWriter(t, bare)
	ctx := context.Background()
	deployBoth := deployEntry(1, "staging", "cart", "cart: 1\n", "cart", "checkout")
	deployBoth.Change.Envs[0].Manifests = append(deployBoth.Change.Envs[0].Manifests,
		deploy.AppManifest{App: "checkout", Manifest: "checkout: 1\n"})
	remove := deployEntry(2, "staging", "cart", "", "checkout")
	remove.Change.Envs[0].Manifests = []deploy.AppManifest{{App: "cart", Remove: true}}
	if _, err := w.Write(ctx, []deploy.OutboxEntry{deployBoth, remove}); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"argocd/v1alpha1/staging.yaml",
		"environments/staging/applications/checkout/manifests/manifests.yaml",
		"environments/staging/config.json",
	}, "\n")
	if diff := cmp.Diff(want, run(t, bare, "ls-tree", "-r", "--name-only", "main")); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	argo := run(t, bare, "show", "main:argocd/v1alpha1/staging.yaml")
	if strings.Contains(argo, "staging-cart") || !strings.Contains(argo, "name: staging-checkout") {
		t.Errorf("argocd file still lists cart or lost checkout:\n%s", argo)
	}
	// Removing the last app of an environment removes the now empty applications directory.
	last := deployEntry(3, "staging", "checkout", "")
	last.Change.Envs[0].Manifests = []deploy.AppManifest{{App: "checkout", Remove: true}}
	last.Change.Envs[0].Apps = nil
	if _, err := w.Write(ctx, []deploy.OutboxEntry{last}); err != nil {
		t.Fatal(err)
	}
	want = "argocd/v1alpha1/staging.yaml\nenvironments/staging/config.json"
	if diff := cmp.Diff(want, run(t, bare, "ls-tree", "-r", "--name-only", "main")); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func TestWriteOneCommitPerEntryInOnePush(t *testing.T) {
	bare := newBare(t)
	w := openWriter(t, bare)
	entries := []deploy.OutboxEntry{
		deployEntry(1, "development", "checkout", "v: 1\n"),
		deployEntry(2, "development", "checkout", "v: 2\n"),
		deployEntry(3, "staging", "checkout", "v: 1\n"),
	}
	pushed, err := w.Write(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	log := strings.Split(run(t, bare, "log", "--format=%H %s", "main"), "\n")
	want := []string{
		pushed[2].Commit + " deploy checkout to staging",
		pushed[1].Commit + " deploy checkout to development",
		pushed[0].Commit + " deploy checkout to development",
	}
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	// One push: the branch moved once, from nothing to the last commit.
	if n := len(strings.Split(run(t, bare, "reflog", "show", "--format=%H", "refs/heads/main"), "\n")); n != 1 {
		t.Errorf("branch moved %d times, want 1", n)
	}
	if got := w.Stats().CommitsPushed; got != 3 {
		t.Errorf("commits pushed = %d, want 3", got)
	}
}

func TestWriteAfterRemoteMoved(t *testing.T) {
	bare := newBare(t)
	ctx := context.Background()
	w := openWriter(t, "file://"+bare)
	if _, err := w.Write(ctx, []deploy.OutboxEntry{deployEntry(1, "development", "checkout", "v: 1\n")}); err != nil {
		t.Fatal(err)
	}
	pushOther(t, bare, "README.md", "hello\n") // the writer's tip is stale now
	pushed, err := w.Write(ctx, []deploy.OutboxEntry{deployEntry(2, "development", "checkout", "v: 2\n")})
	if err != nil {
		t.Fatalf("write after the remote moved: %v", err)
	}
	want := strings.Join([]string{
		"deploy checkout to development",
		"other change README.md",
		"deploy checkout to development",
	}, "\n")
	if diff := cmp.Diff(want, run(t, bare, "log", "--format=%s", "main")); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if got := run(t, bare, "rev-parse", "main"); got != pushed[0].Commit {
		t.Errorf("main is at %s, want %s", got, pushed[0].Commit)
	}
	if got := run(t, bare, "show", "main:README.md"); got != "hello" {
		t.Errorf("README.md = %q", got)
	}
	if got := run(t, bare, "show", "main:environments/development/applications/checkout/manifests/manifests.yaml"); got != "v: 2" {
		t.Errorf("manifest = %q", got)
	}
}

func TestWriteAgainAfterCrash(t *testing.T) {
	// The push went through but the outbox was not marked: the same entries come again,
	// to this writer or to a new one after a restart, perhaps with newer ones behind them.
	e1 := deployEntry(1, "development", "checkout", "v: 1\n")
	e2 := deployEntry(2, "development", "cart", "v: 1\n", "cart", "checkout")
	e3 := deployEntry(3, "development", "checkout", "v: 2\n", "cart", "checkout")
	tests := []struct {
		name  string
		again []deploy.OutboxEntry
		want  []string // per entry: "head" (the commit pushed before), "new" or ""
	}{
		{"same batch", []deploy.OutboxEntry{e1, e2}, []string{"", "head"}},
		{"last entry only", []deploy.OutboxEntry{e2}, []string{"head"}},
		{"batch and a new entry", []deploy.OutboxEntry{e1, e2, e3}, []string{"", "head", "new"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bare := newBare(t)
			ctx := context.Background()
			if _, err := openWriter(t, bare).Write(ctx, []deploy.OutboxEntry{e1, e2}); err != nil {
				t.Fatal(err)
			}
			head := run(t, bare, "rev-parse", "main")
			got, err := openWriter(t, bare).Write(ctx, tt.again)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, p := range got {
				switch p.Commit {
				case "":
					kinds = append(kinds, "")
				case head:
					kinds = append(kinds, "head")
				default:
					kinds = append(kinds, "new")
				}
			}
			if diff := cmp.Diff(tt.want, kinds); diff != "" {
				t.Errorf("commits (-want +got):\n%s", diff)
			}
			wantLog := "deploy cart to development\ndeploy checkout to development"
			if tt.want[len(tt.want)-1] == "new" {
				wantLog = "deploy checkout to development\n" + wantLog
			}
			if diff := cmp.Diff(wantLog, run(t, bare, "log", "--format=%s", "main")); diff != "" {
				t.Errorf("log (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteRejectsInvalidNames(t *testing.T) {
	tests := []struct {
		name string
		edit func(*deploy.EnvFiles)
	}{
		{"env with dots", func(ef *deploy.EnvFiles) { ef.Env = "../../etc" }},
		{"env with slash", func(ef *deploy.EnvFiles) { ef.Env = "dev/x" }},
		{"env too long", func(ef *deploy.EnvFiles) { ef.Env = "a-very-long-environment-name" }},
		{"upper case app", func(ef *deploy.EnvFiles) { ef.Manifests[0].App = "Checkout" }},
		{"app with slash", func(ef *deploy.EnvFiles) { ef.Manifests[0].App = "a/../../b" }},
		{"removed app with dots", func(ef *deploy.EnvFiles) { ef.Manifests[0] = deploy.AppManifest{App: "..", Remove: true} }},
		{"argo app with dots", func(ef *deploy.EnvFiles) { ef.Apps[0].App = ".." }},
		{"app listed twice", func(ef *deploy.EnvFiles) { ef.Apps = append(ef.Apps, ef.Apps[0]) }},
		{"empty env", func(ef *deploy.EnvFiles) { ef.Env = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bare := newBare(t)
			w := openWriter(t, bare)
			bad := deployEntry(2, "development", "checkout", "v: 1\n")
			tt.edit(&bad.Change.Envs[0])
			good := deployEntry(1, "development", "checkout", "v: 1\n")
			_, err := w.Write(context.Background(), []deploy.OutboxEntry{good, bad})
			if !errors.Is(err, deploy.ErrInvalid) {
				t.Fatalf("err = %v, want one wrapping deploy.ErrInvalid", err)
			}
			if refs := run(t, bare, "for-each-ref"); refs != "" {
				t.Errorf("something was pushed: %s", refs)
			}
		})
	}
}

func TestOpenCreatesBareRepository(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "envrepo.git")
	w := openWriter(t, dir)
	if got := run(t, dir, "symbolic-ref", "HEAD"); got != "refs/heads/main" {
		t.Errorf("HEAD = %q", got)
	}
	if _, err := w.Write(context.Background(), []deploy.OutboxEntry{deployEntry(1, "development", "checkout", "")}); err != nil {
		t.Fatal(err)
	}
	clone := filepath.Join(t.TempDir(), "clone")
	run(t, ".", "clone", "--quiet", dir, clone)
	got, err := os.ReadFile(filepath.Join(clone, "environments/development/applications/checkout/manifests/manifests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != " " {
		t.Errorf("empty manifest written as %q, want a single space", got)
	}
}

func TestWriteNewBranchInExistingRepository(t *testing.T) {
	bare := newBare(t)
	pushOther(t, bare, "README.md", "hello\n")
	w, err := Open(context.Background(), Options{URL: bare, Branch: "envs", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(context.Background(), []deploy.OutboxEntry{deployEntry(1, "development", "checkout", "v: 1\n")}); err != nil {
		t.Fatal(err)
	}
	if got := run(t, bare, "rev-list", "--count", "envs"); got != "1" {
		t.Errorf("envs has %s commits, want 1 (a new root)", got)
	}
	if got := run(t, bare, "rev-list", "--count", "main"); got != "1" {
		t.Errorf("main has %s commits, want 1", got)
	}
}

func TestWriteFetchesAgainAfterManyCommits(t *testing.T) {
	bare := newBare(t)
	w := openWriter(t, bare)
	ctx := context.Background()
	if _, err := w.Write(ctx, []deploy.OutboxEntry{deployEntry(1, "development", "checkout", "v: 1\n")}); err != nil {
		t.Fatal(err)
	}
	old := w.st
	w.built = recloneAfter // as if it had built that many commits on this clone
	if _, err := w.Write(ctx, []deploy.OutboxEntry{deployEntry(2, "development", "checkout", "v: 2\n")}); err != nil {
		t.Fatal(err)
	}
	if w.st == old || w.built != 1 {
		t.Errorf("the writer kept its clone (built = %d)", w.built)
	}
	if got := run(t, bare, "rev-list", "--count", "main"); got != "2" {
		t.Errorf("%s commits, want 2", got)
	}
}
