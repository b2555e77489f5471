package bot_test

import (
	"context"
	"strings"
	"testing"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/reply"
)

// as runs a command for a Slack user (with the user's groups, as the bot resolves them).
func (hs *harness) as(user, text string) commands.Result {
	hs.t.Helper()
	actor := deploy.Actor{Kind: deploy.ActorUser, ID: user, Name: strings.ToLower(strings.TrimPrefix(user, "U")), Email: strings.ToLower(strings.TrimPrefix(user, "U")) + "@example.com"}
	var groups []string
	if user == "UBOB" {
		groups = []string{"@releasers"}
	}
	return hs.h.Execute(context.Background(), commands.Request{Actor: actor, Groups: groups, Via: deploy.ViaSlack, Text: text})
}

// tree lists the env repo's paths under environments/ and the Argo CD Applications named
// after app, once the writer has pushed everything.
func (hs *harness) pushedTree(app string) (dirs, argo []string) {
	hs.t.Helper()
	eventually(hs.t, "everything pushed", func() bool {
		var sum deploy.OutboxSummary
		_ = hs.db.View(context.Background(), func(ctx context.Context, v deploy.View) error {
			var err error
			sum, err = v.Outbox(ctx)
			return err
		})
		return sum.Pending == 0
	})
	for _, p := range strings.Fields(hs.git("ls-tree", "-r", "--name-only", "main")) {
		if strings.Contains(p, "/applications/"+app+"/") {
			env := strings.Split(p, "/")[1]
			if len(dirs) == 0 || dirs[len(dirs)-1] != env {
				dirs = append(dirs, env)
			}
		}
		if strings.HasPrefix(p, "argocd/v1alpha1/") {
			if strings.Contains(hs.git("show", "main:"+p), "name: "+strings.TrimSuffix(strings.TrimPrefix(p, "argocd/v1alpha1/"), ".yaml")+"-"+app+"\n") {
				argo = append(argo, strings.TrimSuffix(strings.TrimPrefix(p, "argocd/v1alpha1/"), ".yaml"))
			}
		}
	}
	return dirs, argo
}

// TestUndeploy: prepare → removed from development at once → held by a lock on staging →
// trains take it on → finish refused until it runs everywhere → asked → deleted (locks too,
// history kept) → a new release brings the app back. Each step needs its permission.
func TestUndeploy(t *testing.T) {
	hs := start(t)
	hs.release("checkout", 1, "development", "staging", "production")
	for _, cmd := range []string{"deploy checkout 1 to staging", "deploy checkout 1 to production"} {
		if res := hs.as("UBOB", cmd); res.Outcome != deploy.OutcomeDone {
			t.Fatalf("%s: %s", cmd, reply.Text(res))
		}
	}
	if res := hs.as("UALICE", `lock checkout on staging "integration tests"`); res.Outcome != deploy.OutcomeDone {
		t.Fatal(reply.Text(res))
	}
	if dirs, argo := hs.pushedTree("checkout"); strings.Join(dirs, " ") != "development production staging" || strings.Join(argo, " ") != "development production staging" {
		t.Fatalf("before: dirs %v, Applications %v", dirs, argo)
	}

	if res := hs.as("UALICE", "undeploy checkout"); res.Outcome != deploy.OutcomeDenied || !strings.Contains(reply.Text(res), "CreateUndeploy") {
		t.Errorf("alice prepares an undeploy: %s", reply.Text(res))
	}
	res := hs.as("UBOB", "undeploy checkout")
	if res.Outcome != deploy.OutcomeDone || !strings.Contains(reply.Text(res), "Prepared the undeploy version of checkout: 2") {
		t.Fatalf("undeploy checkout: %s", reply.Text(res))
	}
	if res := hs.as("UBOB", "undeploy checkout"); res.Outcome != deploy.OutcomeNoop || !strings.Contains(reply.Text(res), "prepared already") {
		t.Errorf("again: %s", reply.Text(res))
	}
	if dirs, argo := hs.pushedTree("checkout"); strings.Join(dirs, " ") != "production staging" || strings.Join(argo, " ") != "production staging" {
		t.Errorf("after the undeploy version reached development: dirs %v, Applications %v", dirs, argo)
	}
	if got := reply.Text(hs.as("UBOB", "status")); !strings.Contains(got, "2 (undeploy)") {
		t.Errorf("status does not show the undeploy version:\n%s", got)
	}
	if res := hs.as("UBOB", "undeploy checkout --confirm --force"); res.Problem == nil || !strings.Contains(res.Problem.Message, "still runs a real version on staging, production") {
		t.Errorf("finish too early: %s", reply.Text(res))
	}
	if res := hs.as("UBOB", "train staging"); res.Train == nil || len(res.Train.Deploys()) != 0 || !strings.Contains(reply.Text(res), "APP_IS_LOCKED") {
		t.Errorf("a train past the app lock: %s", reply.Text(res))
	}
	hs.as("UALICE", "unlock checkout on staging")
	for _, target := range []string{"staging", "production"} {
		if res := hs.as("UBOB", "train "+target); res.Train == nil || len(res.Train.Deploys()) != 1 {
			t.Fatalf("train %s: %s", target, reply.Text(res))
		}
	}
	if dirs, argo := hs.pushedTree("checkout"); len(dirs)+len(argo) != 0 {
		t.Errorf("the undeploy version everywhere: dirs %v, Applications %v", dirs, argo)
	}
	hs.as("UALICE", `lock checkout on production "keep it down"`)
	if res := hs.as("UALICE", "undeploy checkout --confirm --force"); res.Outcome != deploy.OutcomeDenied || !strings.Contains(reply.Text(res), "DeployUndeploy") {
		t.Errorf("alice finishes: %s", reply.Text(res))
	}
	ask := hs.as("UBOB", "undeploy checkout --confirm")
	if ask.Outcome != deploy.OutcomeConfirm || !strings.Contains(reply.Prompt(ask), "This deletes checkout") || !strings.Contains(reply.Prompt(ask), "keep it down") {
		t.Fatalf("the question: %s", reply.Text(ask))
	}
	done := hs.h.Run(context.Background(), commands.Request{Actor: deploy.Actor{Kind: deploy.ActorUser, ID: "UBOB", Name: "bob", Email: "bob@example.com"},
		Groups: []string{"@releasers"}, Via: deploy.ViaSlack}, ask.Confirm.Command)
	if done.Outcome != deploy.OutcomeDone || !strings.Contains(reply.Text(done), "Deleted checkout from development, staging, production") {
		t.Fatalf("the confirmed finish: %s", reply.Text(done))
	}
	st, err := hs.h.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for env := range envs {
		if _, ok := st.Deployed(env, "checkout"); ok {
			t.Errorf("checkout still deployed on %s", env)
		}
	}
	if l := st.LocksFor("production", "checkout"); len(l) != 0 {
		t.Errorf("its locks stayed: %+v", l)
	}
	if got := reply.Text(hs.as("UBOB", "history checkout")); !strings.Contains(got, "production") || !strings.Contains(got, "  1  ") {
		t.Errorf("history after the undeploy:\n%s", got)
	}
	if got := reply.Text(hs.as("UBOB", "status")); strings.Contains(got, "checkout") {
		t.Errorf("status still lists the deleted app:\n%s", got)
	}
	hs.release("checkout", 3, "development", "staging")
	if dirs, _ := hs.pushedTree("checkout"); strings.Join(dirs, " ") != "development" {
		t.Errorf("a new release brings it back: dirs %v", dirs)
	}
	if got := reply.Text(hs.as("UBOB", "status")); !strings.Contains(got, "checkout  shop  3") {
		t.Errorf("status after the new release:\n%s", got)
	}
}

// TestRemoveFromAnEnvironment: asked first (locks shown), removed with its Application,
// a second time nothing to remove; the permission is DeleteEnvironmentApplication.
func TestRemoveFromAnEnvironment(t *testing.T) {
	hs := start(t)
	hs.release("cart", 1, "development", "staging")
	hs.as("UBOB", "deploy cart 1 to staging")
	hs.as("UALICE", `lock staging "release freeze"`)
	if res := hs.as("UALICE", "remove cart from staging --force"); res.Outcome != deploy.OutcomeDenied || !strings.Contains(reply.Text(res), "DeleteEnvironmentApplication") {
		t.Errorf("alice removes: %s", reply.Text(res))
	}
	ask := hs.as("UBOB", "remove cart from staging")
	if ask.Outcome != deploy.OutcomeConfirm || !strings.Contains(reply.Prompt(ask), "removes cart 1 from staging") || !strings.Contains(reply.Prompt(ask), "release freeze") {
		t.Fatalf("the question: %s", reply.Text(ask))
	}
	if res := hs.as("UBOB", "remove cart from staging --force"); res.Outcome != deploy.OutcomeDone {
		t.Fatalf("remove: %s", reply.Text(res))
	}
	if dirs, argo := hs.pushedTree("cart"); strings.Join(dirs, " ") != "development" || strings.Join(argo, " ") != "development" {
		t.Errorf("after remove: dirs %v, Applications %v", dirs, argo)
	}
	if res := hs.as("UBOB", "remove cart from staging --force"); res.Outcome != deploy.OutcomeNoop || !strings.Contains(reply.Text(res), "nothing to remove") {
		t.Errorf("again: %s", reply.Text(res))
	}
	if got := hs.git("log", "-1", "--format=%s", "main"); got != "remove cart from staging" {
		t.Errorf("commit: %q", got)
	}
	// No train brings it back; a new release with a manifest there may.
	hs.as("UALICE", "unlock staging")
	if res := hs.as("UBOB", "train staging"); res.Train == nil || len(res.Train.Deploys()) != 0 || !strings.Contains(reply.Text(res), "APP_DOES_NOT_EXIST_IN_ENV") {
		t.Errorf("a train after remove: %s", reply.Text(res))
	}
	hs.release("cart", 2, "development", "staging")
	if res := hs.as("UBOB", "train staging"); res.Train == nil || len(res.Train.Deploys()) != 1 {
		t.Errorf("a train after a new release: %s", reply.Text(res))
	}
}

// TestRemoveFromSlack: the question is a card with a "Remove cart" button; a click by
// someone without the permission changes nothing, the releaser's click removes it.
func TestRemoveFromSlack(t *testing.T) {
	hs := start(t)
	hs.release("cart", 1, "development", "staging")
	hs.as("UBOB", "deploy cart 1 to staging")
	hs.slash("UBOB", "remove cart from staging")
	card := hs.card("asks: remove *cart* from staging?")
	bs := buttons(t, card, "Remove cart")
	if len(bs) != 1 {
		t.Fatalf("the question's buttons: %s", card.Blocks)
	}
	hs.click("UALICE", card, bs[0])
	hs.ephemeral("UALICE", "DeleteEnvironmentApplication")
	if v := hs.running("staging", "cart"); v != 1 {
		t.Fatalf("alice's click removed it: staging runs %d", v)
	}
	hs.click("UBOB", card, bs[0])
	hs.thread(card.TS, "Removed cart (was 1) from staging")
	eventually(t, "cart removed", func() bool { return hs.running("staging", "cart") == 0 })
}
