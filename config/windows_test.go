package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

func TestWindowProblems(t *testing.T) {
	yaml := head + lines(
		"environments: {staging: {upstream: {latest: true}}, production-de: {upstream: {environment: staging}, group: production}}", // 3
		"windows:", // 4
		"  - {name: peak, environments: [prod], schedule: '0 9 * * MON-FRI', duration: 0s}",                          // 5
		"  - {name: peak, environments: [production], schedule: 'at nine', duration: 8d, timezone: Moon/Base}",       // 6
		"  - {name: xmas, environments: ['*'], from: 2026-12-23, until: 2026-12-01, override: deny}",                 // 7
		"  - {name: both, environments: [staging], from: 2026-12-23, until: 2027-01-02, schedule: '0 9 * * *'}",      // 8
		"  - {name: ask, environments: [staging], schedule: '0 9 * * *', duration: 1h, override: approval}",          // 9
		"  - {name: odd, environments: [], from: 23.12.2026, until: 2027-01-02, override: maybe, approvers: role:x}", // 10
	)
	_, err := Parse([]byte(yaml), env(nil))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	want := []string{
		`line 5: windows[0].environments[0]: no environment or group "prod"; environments: production-de, staging`,
		`line 5: windows[0].duration: "0s" is not a duration above 0 and at most a week (168h), e.g. 2h`,
		`line 6: windows[1].name: "peak" is also the name of windows[0]; every window needs its own name`,
		`line 6: windows[1].timezone: "Moon/Base" is not a time zone; use an IANA name such as Europe/Berlin or UTC`,
		`line 6: windows[1].schedule: "at nine" is not a cron spec of five fields (minute hour day-of-month month day-of-week), e.g. "0 9 * * MON-FRI"`,
		`line 6: windows[1].duration: "8d" is not a duration above 0 and at most a week (168h), e.g. 2h`,
		`line 7: windows[2].until: "2026-12-01" is before from (2026-12-23); until is the last day of the freeze`,
		"line 8: windows[3]: set either schedule and duration (a weekly window) or from and until (a one-off freeze), not both",
		"line 9: windows[4].approvers: required with override approval: the role whose holders approve a deploy inside, e.g. role:release-manager",
		`line 10: windows[5].environments: required: the environments or groups it applies to, e.g. [production], or ["*"] for all`,
		`line 10: windows[5].from: "23.12.2026" is not a date such as 2026-12-23`,
		`line 10: windows[5].override: "maybe" is not an override: confirm (a deploy inside needs a reason), approval or deny`,
	}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestPolicyWindows(t *testing.T) {
	yaml := head + lines(
		"environments: {staging: {upstream: {latest: true}}, production-de: {upstream: {environment: staging}, group: production}}",
		"windows:",
		"  - {name: peak-hours, environments: [production], schedule: '0 9 * * MON-FRI', duration: 2h, timezone: Europe/Berlin, override: deny}",
		"  - {name: xmas, environments: ['*'], from: 2026-12-23, until: 2027-01-02, timezone: Europe/Berlin}",
	)
	c, err := Parse([]byte(yaml), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	ws := c.PolicyWindows()
	if len(ws) != 2 {
		t.Fatalf("windows: %+v", ws)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if until, open := ws[0].Open(time.Date(2026, 12, 1, 9, 0, 0, 0, berlin)); !open || !until.Equal(time.Date(2026, 12, 1, 11, 0, 0, 0, berlin)) {
		t.Errorf("peak-hours at 09:00 Berlin: open %v until %v", open, until)
	}
	if ws[0].Override != "deny" || ws[1].Override != "confirm" {
		t.Errorf("overrides: %q, %q", ws[0].Override, ws[1].Override)
	}
	got := []time.Time{ws[1].From, ws[1].Until}
	want := []time.Time{time.Date(2026, 12, 23, 0, 0, 0, 0, berlin), time.Date(2027, 1, 3, 0, 0, 0, 0, berlin)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("freeze from/until (-want +got):\n%s", diff)
	}
}

// TestArgoCDSyncWindows: a weekly window marked argocd_sync_window is added to its
// environments' Argo CD sync windows (deny, with its time zone), next to their own, and
// not to other environments sharing the same YAML anchor.
func TestArgoCDSyncWindows(t *testing.T) {
	yaml := head + lines(
		"environments:",
		"  staging: {upstream: {latest: true}, argocd: &argo {destination: {server: https://k}, syncWindows: [{kind: allow, schedule: '0 0 * * *', duration: 1h}]}}",
		"  production-de: {upstream: {environment: staging}, group: production, argocd: *argo}",
		"  production-jp: {upstream: {environment: staging}, group: production}",
		"windows:",
		"  - {name: peak, environments: [production-de], schedule: '0 9 * * MON-FRI', duration: 2h, timezone: Europe/Berlin, argocd_sync_window: true}",
	)
	c, err := Parse([]byte(yaml), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := []deploy.SyncWindow{{Kind: "allow", Schedule: "0 0 * * *", Duration: "1h"},
		{Kind: "deny", Schedule: "0 9 * * MON-FRI", Duration: "2h", TimeZone: "Europe/Berlin"}}
	if diff := cmp.Diff(want, c.Environments["production-de"].ArgoCD.SyncWindows); diff != "" {
		t.Errorf("production-de sync windows (-want +got):\n%s", diff)
	}
	if got := c.Environments["staging"].ArgoCD.SyncWindows; len(got) != 1 {
		t.Errorf("staging got the window too: %+v", got)
	}
	bad := head + lines(
		"environments: {staging: {upstream: {latest: true}}}",
		"windows:",
		"  - {name: peak, environments: [staging], schedule: '0 9 * * *', duration: 2h, argocd_sync_window: true}",
		"  - {name: xmas, environments: [staging], from: 2026-12-23, until: 2026-12-24, argocd_sync_window: true}",
	)
	_, err = Parse([]byte(bad), env(nil))
	wantProblems := []string{
		"line 5: windows[0].argocd_sync_window: environment staging has no argocd section to render the sync window into",
		"line 6: windows[1].argocd_sync_window: only a weekly window (schedule and duration) is rendered as an Argo CD sync window",
		"line 6: windows[1].argocd_sync_window: environment staging has no argocd section to render the sync window into",
	}
	if diff := cmp.Diff(wantProblems, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestArgoCDWarning: an environment without an argocd section gets a warning that says
// where its Applications point.
func TestArgoCDWarning(t *testing.T) {
	yaml := head + lines("environments: {staging: {upstream: {latest: true}}, production: {argocd: {destination: {server: https://k}}}}")
	c, err := Parse([]byte(yaml), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range c.Warnings() {
		if strings.Contains(w, "argocd") {
			got = append(got, w)
		}
	}
	want := []string{"environments.staging has no argocd section: its Argo CD file points the Applications at https://kubernetes.default.svc, namespace staging (Kuberpult's original writes no Argo CD file for it)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestGitHubSection(t *testing.T) {
	_, err := Parse([]byte(head+lines("environments: {dev: {}}", "github: {repo: 'acme', api_url: 'github.example.com'}")), env(nil))
	want := []string{
		`line 4: github.repo: "acme" is not a repository as owner/name, e.g. acme/shop`,
		"line 4: github.token: required: a GitHub token that may read the repository (and write deployments), e.g. ${GITHUB_TOKEN}",
		`line 4: github.api_url: "github.example.com" is not an http(s) URL, e.g. https://github.example.com`,
	}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	_, err = Parse([]byte(head+lines("environments: {dev: {}}", "github: {deployments: true}")), env(nil))
	if diff := cmp.Diff([]string{"line 4: github.repo: required with the other github keys: the source repository as owner/name, e.g. acme/shop"}, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	c, err := Parse([]byte(head+lines("environments: {dev: {}}", "github: {repo: acme/shop, token: '${GITHUB_TOKEN}', deployments: true}")), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !c.GitHub.Enabled() || !c.GitHub.Deployments || c.GitHub.Repo != "acme/shop" {
		t.Errorf("github: %+v", c.GitHub)
	}
	if err := c.NeedSecrets("git."); err != nil {
		t.Errorf("a console needs no GitHub token: %v", err)
	}
	if err := c.NeedSecrets(); err == nil || !strings.Contains(err.Error(), "github.token: environment variable GITHUB_TOKEN is not set") {
		t.Errorf("NeedSecrets: %v", err)
	}
}

func TestArgoCDConnection(t *testing.T) {
	_, err := Parse([]byte(head+lines("environments: {dev: {}}",
		"argocd: {server: 'argocd.example.com', ca_file: ca.pem, insecure: true, soak: 0s, timeout: forever}")), env(nil))
	want := []string{
		`line 4: argocd.server: "argocd.example.com" is not an http(s) URL, e.g. https://argocd.example.com`,
		"line 4: argocd.insecure: set ca_file or insecure, not both",
		`line 4: argocd.soak: "0s" is not a duration above 0 and at most 24h, e.g. 1m or 15m`,
		`line 4: argocd.timeout: "forever" is not a duration above 0 and at most 24h, e.g. 1m or 15m`,
	}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	c, err := Parse([]byte(head+lines("environments: {dev: {}}", "argocd: {server: 'https://argocd.example.com', token: '${ARGOCD_TOKEN}', soak: 30s}")), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if soak, timeout := c.ArgoCD.Durations(); !c.ArgoCD.Enabled() || soak != 30*time.Second || timeout != 0 {
		t.Errorf("argocd: %+v", c.ArgoCD)
	}
	if err := c.NeedSecrets(); err == nil || !strings.Contains(err.Error(), "argocd.token: environment variable ARGOCD_TOKEN is not set") {
		t.Errorf("NeedSecrets: %v", err)
	}
}
