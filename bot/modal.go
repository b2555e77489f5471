package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"kuberpult/commands"
	"kuberpult/deploy"
)

// The lock modal: kind, target, app or team, message and suggested lifetime. Submitting it
// runs the same lock command, with the same checks, as typing it.
const (
	lockModalID = "lock"
	fKind       = "kind"
	fTarget     = "target"
	fApp        = "app"
	fTeam       = "team"
	fMessage    = "message"
	fLifetime   = "lifetime"
)

func input(id, label, placeholder, initial string, optional bool) *slack.InputBlock {
	el := slack.NewPlainTextInputBlockElement(slack.NewTextBlockObject(slack.PlainTextType, placeholder, false, false), id)
	el.InitialValue = initial
	blk := slack.NewInputBlock(id, slack.NewTextBlockObject(slack.PlainTextType, label, false, false), nil, el)
	blk.Optional = optional
	return blk
}

func lockModal(env, channel string) slack.ModalViewRequest {
	opt := func(v, text string) *slack.OptionBlockObject {
		return slack.NewOptionBlockObject(v, slack.NewTextBlockObject(slack.PlainTextType, text, false, false), nil)
	}
	env0 := opt(string(deploy.LockEnv), "Environment lock")
	kinds := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, nil, fKind,
		env0, opt(string(deploy.LockApp), "App lock"), opt(string(deploy.LockTeam), "Team lock"))
	kinds.InitialOption = env0
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      lockModalID,
		PrivateMetadata: channel,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Create a lock", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Lock", false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock(fKind, slack.NewTextBlockObject(slack.PlainTextType, "Kind", false, false), nil, kinds),
			input(fTarget, "Environment or group", "staging", env, false),
			input(fApp, "App (app locks)", "checkout", "", true),
			input(fTeam, "Team (team locks)", "shop", "", true),
			input(fMessage, "Message", "why nothing should be deployed", "", false),
			input(fLifetime, "Suggested lifetime", "4h, 2d or 1w", "", true),
		}},
	}
}

func (b *Bot) openLockModal(ctx context.Context, trigger, env, channel string) {
	if trigger == "" {
		return
	}
	if _, err := b.api.OpenViewContext(ctx, trigger, lockModal(env, channel)); err != nil {
		b.log.Error("slack modal", "err", err)
	}
}

// lockFromModal reads a submitted lock modal into a lock command, or the problems by field.
func (b *Bot) lockFromModal(v slack.View) (commands.Lock, string, map[string]string) {
	val := func(id string) string {
		if v.State == nil {
			return ""
		}
		a := v.State.Values[id][id]
		if a.SelectedOption.Value != "" {
			return a.SelectedOption.Value
		}
		return strings.TrimSpace(a.Value)
	}
	cmd := commands.Lock{Kind: deploy.LockKind(val(fKind)), Target: val(fTarget), App: deploy.App(val(fApp)),
		Team: deploy.Team(val(fTeam)), Message: val(fMessage), Lifetime: val(fLifetime)}
	if cmd.Kind == "" {
		cmd.Kind = deploy.LockEnv
	}
	errs := map[string]string{}
	if err := deploy.ValidateLifetime(cmd.Lifetime); err != nil {
		errs[fLifetime] = "Use a number and h, d or w, e.g. 4h, 2d, 1w"
	}
	if cmd.Message == "" {
		errs[fMessage] = "Say why, for those who find the lock"
	}
	envs := b.o.Exec.Environments()
	if _, ok := envs[deploy.Env(cmd.Target)]; !ok && !isGroup(envs, cmd.Target) {
		errs[fTarget] = fmt.Sprintf("No environment or group %q; there are: %s", cmd.Target, strings.Join(targets(envs), ", "))
	}
	switch cmd.Kind {
	case deploy.LockApp:
		if cmd.App == "" {
			errs[fApp] = "An app lock needs the app"
		}
	case deploy.LockTeam:
		if cmd.Team == "" {
			errs[fTeam] = "A team lock needs the team"
		}
	}
	if len(errs) > 0 {
		return commands.Lock{}, "", errs
	}
	return cmd, v.PrivateMetadata, nil
}

func isGroup(envs deploy.Environments, name string) bool {
	for _, g := range envs.Groups() {
		if string(g) == name {
			return true
		}
	}
	return false
}

func targets(envs deploy.Environments) []string {
	var out []string
	for _, e := range envs.Names() {
		out = append(out, string(e))
	}
	for _, g := range envs.Groups() {
		if _, isEnv := envs[deploy.Env(g)]; !isEnv { // an environment without a group is its own
			out = append(out, string(g))
		}
	}
	return out
}

// lockSubmitted runs the lock of a submitted modal; its view id is its key.
func (b *Bot) lockSubmitted(ctx context.Context, cb slack.InteractionCallback, cmd commands.Lock, channel string) {
	who, err := b.people.get(ctx, cb.User.ID)
	if err != nil {
		b.log.Warn("slack user lookup", "err", err)
	}
	res := b.o.Exec.Run(ctx, b.request(who, commands.Format(cmd), "view:"+cb.View.ID+":"+cb.View.Hash), cmd)
	if !wantsCard(res) || channel == "" {
		b.answer(ctx, channel, cb.User.ID, answerText(res))
		return
	}
	if _, err := b.postCard(ctx, channel, "", card{Result: res}); err != nil {
		b.log.Error("slack card", "err", err)
	}
}
