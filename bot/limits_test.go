package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"kuberpult/commands"
	"kuberpult/deploy"
)

// checkLimits fails when blocks break Slack's limits: at most max blocks, section texts of
// at most 3,000 characters.
func checkLimits(t *testing.T, bs []slack.Block, max int) string {
	t.Helper()
	if len(bs) > max {
		t.Errorf("%d blocks, Slack allows %d", len(bs), max)
	}
	b, err := json.Marshal(bs)
	if err != nil {
		t.Fatal(err)
	}
	for _, blk := range bs {
		if s, ok := blk.(*slack.SectionBlock); ok && s.Text != nil && len([]rune(s.Text.Text)) > 3000 {
			t.Errorf("a section of %d characters", len([]rune(s.Text.Text)))
		}
	}
	return string(b)
}

func bigState(apps, envs int) (deploy.State, deploy.Environments) {
	st := deploy.State{Apps: map[deploy.App]deploy.AppInfo{}, Deployments: map[deploy.Env]map[deploy.App]deploy.Deployment{}}
	es := deploy.Environments{}
	prev := deploy.Env("")
	for e := 0; e < envs; e++ {
		env := deploy.Env(fmt.Sprintf("env-%02d", e))
		up := &deploy.Upstream{Latest: true}
		if prev != "" {
			up = &deploy.Upstream{Environment: prev}
		}
		es[env], prev = deploy.EnvConfig{Upstream: up}, env
		st.Deployments[env] = map[deploy.App]deploy.Deployment{}
	}
	for a := 0; a < apps; a++ {
		app := deploy.App(fmt.Sprintf("service-number-%04d", a))
		team := deploy.Team("other")
		if a%100 == 7 {
			team = "shop"
		}
		st.Apps[app] = deploy.AppInfo{Team: team}
		for env := range es {
			st.Deployments[env][app] = deploy.Deployment{Env: env, App: app, Version: deploy.Version(a + 1)}
		}
	}
	st.Locks = []deploy.Lock{{Kind: deploy.LockEnv, ID: "freeze", Env: "env-09", Message: "peak", CreatedAt: time.Unix(0, 0)}}
	return st, es
}

// TestHomeWithinLimits: 2,000 apps × 10 environments stay within a view's 100 blocks, the
// viewer's team comes first, and the board says how many apps it left out.
func TestHomeWithinLimits(t *testing.T) {
	st, es := bigState(2000, 10)
	v := homeView(st, es, nil, nil, map[deploy.Team]bool{"shop": true}, time.Unix(3600, 0))
	out := checkLimits(t, v.Blocks.BlockSet, 100)
	first := strings.Index(out, "service-number-")
	if !strings.HasPrefix(out[first:], "service-number-0007") {
		t.Errorf("the viewer's team is not first: %s", out[first:first+40])
	}
	if !strings.Contains(out, "more apps") {
		t.Error("the board does not say that apps were left out")
	}
	if !strings.Contains(out, "freeze") || !strings.Contains(out, `"action_id":"lock_modal-`) {
		t.Error("the board lacks the lock or the Lock buttons")
	}
	// Pipeline order: env-00 (latest) before env-09.
	if strings.Index(out, "*env-00*") > strings.Index(out, "*env-09*") {
		t.Error("environments are not in pipeline order")
	}
}

// TestCardWithinLimits: a deployment to many environments shows 40 rows and says how many
// more; long answers are cut with a pointer to a narrower query.
func TestCardWithinLimits(t *testing.T) {
	res := commands.Result{Verb: "deploy", Outcome: deploy.OutcomeDone, App: "checkout", Label: "2", ActionID: 7}
	for i := 0; i < 300; i++ {
		res.Deployed = append(res.Deployed, commands.Deployed{Env: deploy.Env(fmt.Sprintf("production-%03d", i)), App: "checkout", From: 1, To: 2})
	}
	out := checkLimits(t, card{Result: res}.blocks(), 50)
	if !strings.Contains(out, "and 260 more") {
		t.Errorf("no summary of the rows left out: %s", out[len(out)-300:])
	}
	long := strings.Repeat("a line of a very long status answer\n", 5000)
	checkLimits(t, textBlocks(long), 50)
	if !strings.Contains(checkLimits(t, textBlocks(long), 50), "shortened") {
		t.Error("a cut answer does not say so")
	}
}
