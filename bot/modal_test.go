package bot

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/policy"
)

// envsOnly is an Executor that knows the environments and nothing else: the modal's checks
// need no more.
type envsOnly struct{ envs deploy.Environments }

func (envsOnly) Execute(context.Context, commands.Request) commands.Result { return commands.Result{} }
func (envsOnly) Run(context.Context, commands.Request, commands.Command) commands.Result {
	return commands.Result{}
}
func (e envsOnly) Environments() deploy.Environments                            { return e.envs }
func (envsOnly) State(context.Context) (deploy.State, error)                    { return deploy.State{}, nil }
func (envsOnly) WindowsAt(deploy.Env, time.Time) []policy.OpenWindow            { return nil }
func (envsOnly) Rollouts(context.Context, deploy.App) ([]deploy.Rollout, error) { return nil, nil }
func (envsOnly) Release(context.Context, deploy.App, deploy.Version) (deploy.Release, error) {
	return deploy.Release{}, deploy.ErrNotFound
}

func modalState(vals map[string]string) *slack.ViewState {
	st := &slack.ViewState{Values: map[string]map[string]slack.BlockAction{}}
	for k, v := range vals {
		a := slack.BlockAction{Value: v}
		if k == fKind {
			a = slack.BlockAction{SelectedOption: slack.OptionBlockObject{Value: v}}
		}
		st.Values[k] = map[string]slack.BlockAction{k: a}
	}
	return st
}

// TestLockModalChecks: every mistake of the lock form is named next to its field.
func TestLockModalChecks(t *testing.T) {
	b := New(Options{Exec: envsOnly{deploy.Environments{"staging": {}, "prod-a": {Group: "prod"}}}})
	tests := []struct {
		name string
		vals map[string]string
		want map[string]string
	}{
		{"all wrong", map[string]string{fKind: "app", fTarget: "stagin", fLifetime: "soon"}, map[string]string{
			fTarget:   `No environment or group "stagin"; there are: prod-a, staging, prod`,
			fMessage:  "Say why, for those who find the lock",
			fLifetime: "Use a number and h, d or w, e.g. 4h, 2d, 1w",
			fApp:      "An app lock needs the app",
		}},
		{"team lock without a team", map[string]string{fKind: "team", fTarget: "prod", fMessage: "x"}, map[string]string{
			fTeam: "A team lock needs the team",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, errs := b.lockFromModal(slack.View{State: modalState(tt.vals)})
			if diff := cmp.Diff(tt.want, errs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
	cmd, ch, errs := b.lockFromModal(slack.View{PrivateMetadata: "C1", State: modalState(map[string]string{fKind: "env", fTarget: "prod", fMessage: "freeze", fLifetime: "2d"})})
	want := commands.Lock{Kind: deploy.LockEnv, Target: "prod", Message: "freeze", Lifetime: "2d"}
	if len(errs) != 0 || ch != "C1" || cmd != want {
		t.Errorf("valid form: %+v %q %v", cmd, ch, errs)
	}
}
