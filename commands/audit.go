package commands

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"kuberpult/deploy"
)

func (a *action) auditLog(ctx context.Context, c Audit) (Reply, error) {
	a.env = c.Env
	f := deploy.AuditFilter{Actor: c.Actor, Env: c.Env, Limit: 200}
	if c.Since != "" {
		d, err := parseAge(c.Since)
		if err != nil {
			return Reply{}, err
		}
		f.Since = a.now.Add(-d)
	}
	entries, err := a.auditEntries(ctx, f)
	if err != nil {
		return Reply{}, err
	}
	if len(entries) == 0 {
		return Reply{Outcome: deploy.OutcomeDone, Text: "No audit entries match."}, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d audit entries, newest first:\n", len(entries))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, e := range entries {
		commit := ""
		if e.Commit != "" {
			commit = "commit " + short(e.Commit)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Format("2006-01-02 15:04:05"), e.Via, auditActor(e.Actor), e.Outcome, oneLine(e.Command), commit)
	}
	_ = tw.Flush()
	return Reply{Outcome: deploy.OutcomeDone, Text: strings.TrimRight(b.String(), "\n")}, nil
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// auditActor shows who acted; for an API client also the token it used, since its name
// comes from request headers.
func auditActor(a deploy.Actor) string {
	if a.Kind == deploy.ActorAPI && a.ID != "" && a.ID != a.Display() {
		return a.Display() + " (" + a.ID + ")"
	}
	return a.Display()
}

// auditEntries reads the audit log. Entries record the target as it was typed, so an
// environment filter also matches commands naming its group, and a group filter commands
// naming one of its environments.
func (a *action) auditEntries(ctx context.Context, f deploy.AuditFilter) ([]deploy.AuditEntry, error) {
	if f.Env == "" {
		return a.h.store.AuditLog(ctx, f)
	}
	targets := []deploy.Env{f.Env}
	if _, isEnv := a.h.envs[f.Env]; isEnv {
		if g := a.h.envs.GroupOf(f.Env); deploy.Env(g) != f.Env {
			targets = append(targets, deploy.Env(g))
		}
	} else {
		targets = append(targets, a.h.envs.Members(deploy.Group(f.Env))...)
	}
	var all []deploy.AuditEntry
	for _, t := range targets {
		f.Env = t
		es, err := a.h.store.AuditLog(ctx, f)
		if err != nil {
			return nil, err
		}
		all = append(all, es...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID > all[j].ID })
	if f.Limit > 0 && len(all) > f.Limit {
		all = all[:f.Limit]
	}
	return all, nil
}
