package bot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"kuberpult/commands"
	"kuberpult/deploy"
)

// Changelogs says what changes in the source repository between two commits; the GitHub
// client implements it. A commit it does not know is deploy.ErrUnknownCommit.
type Changelogs interface {
	Changelog(ctx context.Context, base, head string, max int) (deploy.Changelog, error)
}

// Limits of a changelog in a thread.
const (
	changelogCommits = 20 // per app, newest first; the rest behind the compare link
	changelogApps    = 10 // apps of one card with a changelog; the others are counted
)

// change is one app moving from one version to another, on one or more environments.
type change struct {
	App      deploy.App
	From, To deploy.Version
	Envs     []deploy.Env
}

// changesOf lists what a card's result moves (deploys, rollbacks, a train or its
// announcement), one entry per app and pair of versions.
func changesOf(r commands.Result) []change {
	var out []change
	add := func(env deploy.Env, app deploy.App, from, to deploy.Version) {
		if from == to || to == 0 {
			return
		}
		for i := range out {
			if out[i].App == app && out[i].From == from && out[i].To == to {
				out[i].Envs = append(out[i].Envs, env)
				return
			}
		}
		out = append(out, change{App: app, From: from, To: to, Envs: []deploy.Env{env}})
	}
	for _, d := range r.Deployed {
		add(d.Env, d.App, d.From, d.To)
	}
	if r.Train != nil {
		for _, e := range r.Train.Envs {
			for _, a := range e.Apps {
				if a.Skip == "" {
					add(e.Env, a.App, a.From, a.To)
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].App < out[j].App })
	return out
}

// wantsChangelog: done deploys, rollbacks and trains, and train announcements (not CI's
// releases).
func wantsChangelog(r commands.Result) bool {
	if r.Problem != nil || r.Replayed || r.DryRun && r.Verb != "announce" {
		return false
	}
	switch {
	case r.Verb == "depart" && r.Departure != nil && r.Departure.Announced != 0:
		return false // its announcement's thread has it already
	case r.Verb == "release":
		// CI's auto-deploys to the latest environments: a monorepo releases hundreds of apps
		// per merge, and each changelog costs GitHub requests; people read them at deploys,
		// rollbacks and trains.
		return false
	}
	return r.Outcome == deploy.OutcomeDone || r.Verb == "announce"
}

// postChangelog writes the changelog of what the card's result moves into its thread.
func (b *Bot) postChangelog(ctx context.Context, channel, thread string, r commands.Result) {
	if b.o.Changelogs == nil || !wantsChangelog(r) {
		return
	}
	changes := changesOf(r)
	if len(changes) == 0 {
		return
	}
	var parts []string
	for i, c := range changes {
		if i == changelogApps {
			parts = append(parts, fmt.Sprintf("_…and %d more apps: `history <app>` shows their releases._", len(changes)-i))
			break
		}
		parts = append(parts, b.changelogText(ctx, c))
	}
	for _, text := range chunks(parts, maxSection) {
		if _, err := b.post.message(ctx, channel, thread, text, textBlocks(text)); err != nil {
			b.log.Warn("slack changelog", "err", err)
			return
		}
	}
}

// changelogText is one app's changelog, or a short line saying why there is none.
func (b *Bot) changelogText(ctx context.Context, c change) string {
	head := fmt.Sprintf("*%s* %s → %s", c.App, c.From, c.To)
	if c.From == 0 {
		return head + ": its first deployment there, nothing to compare with."
	}
	from, err1 := b.o.Exec.Release(ctx, c.App, c.From)
	to, err2 := b.o.Exec.Release(ctx, c.App, c.To)
	switch {
	case err1 != nil || err2 != nil:
		return head + ": changelog unavailable (a release could not be read)."
	case from.SourceCommitID == "" || to.SourceCommitID == "":
		return head + ": no changelog — the release has no source commit."
	case strings.EqualFold(from.SourceCommitID, to.SourceCommitID):
		return head + ": built from the same source commit, nothing changed in the code."
	}
	cl, err := b.o.Changelogs.Changelog(ctx, from.SourceCommitID, to.SourceCommitID, changelogCommits)
	switch {
	case errors.Is(err, deploy.ErrUnknownCommit):
		return fmt.Sprintf("%s: no changelog — GitHub does not know %s or %s.", head, short(from.SourceCommitID), short(to.SourceCommitID))
	case err != nil:
		b.log.Warn("changelog", "app", c.App, "err", err)
		return head + ": changelog unavailable — GitHub did not answer; the deployment is not affected."
	}
	var lines []string
	verb := "brings"
	if cl.Back {
		verb = "takes out"
	}
	lines = append(lines, fmt.Sprintf("%s %s %s:", head, verb, plural(cl.Total, "commit")))
	for _, g := range cl.Groups {
		if g.PR != 0 {
			by := ""
			if g.Author != "" {
				by = " by " + g.Author
			}
			lines = append(lines, fmt.Sprintf("• <%s|#%d> %s%s", g.URL, g.PR, escape(g.Title), by))
			for _, sc := range g.Commits {
				lines = append(lines, "    ◦ "+b.commitLine(ctx, sc))
			}
			continue
		}
		for _, sc := range g.Commits {
			lines = append(lines, "• "+b.commitLine(ctx, sc))
		}
	}
	if cl.Total > cl.Shown && cl.CompareURL != "" {
		lines = append(lines, fmt.Sprintf("<%s|All %d commits on GitHub>", cl.CompareURL, cl.Total))
	}
	return strings.Join(lines, "\n")
}

// commitLine is a commit with its author, mentioned when their email is a Slack user's.
func (b *Bot) commitLine(ctx context.Context, sc deploy.SourceCommit) string {
	who := sc.AuthorName
	if m := b.people.mention(ctx, sc.AuthorEmail); m != "" {
		who = m
	}
	sha := "`" + short(sc.SHA) + "`"
	if sc.URL != "" {
		sha = fmt.Sprintf("<%s|%s>", sc.URL, short(sc.SHA))
	}
	return fmt.Sprintf("%s %s — %s", sha, escape(sc.Subject), who)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// escape keeps a text from being read as Slack markup.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
