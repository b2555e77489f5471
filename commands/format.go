package commands

import (
	"fmt"
	"strings"

	"kuberpult/deploy"
)

// Format renders a command back into the command language: Parse(Format(c)) gives c for
// every command Parse can return.
func Format(cmd Command) string {
	var w []string
	add := func(s ...string) { w = append(w, s...) }
	switch c := cmd.(type) {
	case Deploy:
		add("deploy", name(string(c.App)))
		if c.Version != 0 {
			add(c.Version.String())
		} else if c.Display != "" {
			add(c.Display)
		}
		add("to", name(c.Target))
		if c.Lock != "" {
			add("--lock", q(c.Lock))
		}
		if c.Reason != "" {
			add("--reason", q(c.Reason))
		}
		if c.Force {
			add("--force")
		}
		if len(c.From) > 0 {
			add("--from", formatFrom(c.From))
		}
	case Rollback:
		add("rollback", name(string(c.App)), "on", name(string(c.Env)))
		if c.To != 0 {
			add("to", c.To.String())
		} else if c.Display != "" {
			add("to", c.Display)
		}
		if c.Reason != "" {
			add("--reason", q(c.Reason))
		}
		if c.From != 0 {
			add("--from", c.From.String())
		}
		if c.Force {
			add("--force")
		}
	case Undeploy:
		add("undeploy", name(string(c.App)))
		if c.Confirm {
			add("--confirm")
		}
		if c.Force {
			add("--force")
		}
	case Remove:
		add("remove", name(string(c.App)), "from", name(string(c.Env)))
		if c.Reason != "" {
			add("--reason", q(c.Reason))
		}
		if c.Force {
			add("--force")
		}
	case Lock:
		add("lock")
		switch {
		case c.App != "":
			add(name(string(c.App)), "on")
		case c.Team != "":
			add("team", name(string(c.Team)), "on")
		}
		add(name(c.Target), q(c.Message))
		if c.Lifetime != "" {
			add("--for", c.Lifetime)
		}
		if c.ID != "" {
			add("--id", c.ID)
		}
	case Unlock:
		add("unlock")
		switch {
		case c.Kind == "" && c.Target == "":
			add("--id", c.ID)
			return strings.Join(w, " ")
		case c.Kind == "":
			add(name(c.Target))
		case c.Kind == deploy.LockEnv && c.ID == "":
			add("env", name(c.Target))
		case c.Kind == deploy.LockEnv:
			add(name(c.Target))
		case c.App != "":
			add(name(string(c.App)), "on", name(c.Target))
		default:
			add("team", name(string(c.Team)), "on", name(c.Target))
		}
		if c.ID != "" {
			add("--id", c.ID)
		}
	case Train:
		add("train", name(c.Target))
		if c.Team != "" {
			add("--team", name(string(c.Team)))
		}
		if c.DryRun {
			add("--dry-run")
		}
	case Hold:
		add("hold")
		formatTrainRef(add, c.App, c.Train)
		if c.Reason != "" {
			add(q(c.Reason))
		}
		formatSlot(add, c.Slot)
	case Unhold:
		add("unhold")
		formatTrainRef(add, c.App, c.Train)
		formatSlot(add, c.Slot)
	case Approve:
		add("approve")
		if c.ID != "" {
			add(c.ID)
			break
		}
		formatTrainRef(add, "", c.Train)
		formatSlot(add, c.Slot)
	case Reject:
		add("reject", c.ID)
	case Trains:
		add("trains")
	case Windows:
		add("windows")
	case Releases:
		add("releases", name(string(c.App)))
	case CatchUp: // the scheduler's
		add("catch-up", "after", c.Window)
		formatSlot(add, c.At)
	case Announce: // the scheduler's, not the command language's
		add("announce", "train", c.Train)
		formatSlot(add, c.Slot)
	case Depart:
		add("depart", "train", c.Train)
		formatSlot(add, c.Slot)
	case Locks:
		add("locks")
		if c.Target != "" {
			add(name(c.Target))
		}
	case Status:
		add("status")
		if c.App != "" {
			add(name(string(c.App)))
		}
	case Envs:
		add("envs")
	case History:
		add("history", name(string(c.App)))
		if c.Env != "" {
			add("on", name(string(c.Env)))
		}
	case Audit:
		add("audit")
		if c.Since != "" {
			add("--since", c.Since)
		}
		if c.Actor != "" {
			add("--actor", q(c.Actor))
		}
		if c.Env != "" {
			add("--env", string(c.Env))
		}
	case Help:
		add("help")
		if c.Verb != "" {
			add(c.Verb)
		}
	default:
		return fmt.Sprintf("%T", cmd)
	}
	return strings.Join(w, " ")
}

func formatFrom(from []EnvVersion) string {
	parts := make([]string, len(from))
	for i, f := range from {
		v := "none"
		if f.Version != 0 {
			v = f.Version.String()
		}
		parts[i] = string(f.Env) + "=" + v
	}
	return strings.Join(parts, ",")
}

// name writes an app, team or environment name, quoted when it is one of the grammar's
// keywords (an app named "on" stays an app).
func name(s string) string {
	if keywords[s] {
		return `"` + s + `"`
	}
	return s
}

// q quotes a message for the command language, unless it is one plain word that cannot be
// taken for anything else.
func q(s string) string {
	if s != "" && !keywords[s] && !strings.HasPrefix(s, "-") && !strings.ContainsFunc(s, special) {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// special reports whether r needs quoting: whitespace, quotes of any kind, a backslash, or a
// dash that chat clients substitute for "--".
func special(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\\', '—', '–':
		return true
	}
	_, isQuote := closers[r]
	return isQuote
}

// ConfirmedText is how the answer to a confirmation is recorded in the audit log: the
// command as asked, without the --force and --from its confirmed form carries, marked as
// confirmed.
func ConfirmedText(cmd Command) string {
	switch c := cmd.(type) {
	case Deploy:
		c.Force, c.From = false, nil
		cmd = c
	case Rollback:
		c.Force, c.From = false, 0
		cmd = c
	case Undeploy:
		c.Force = false
		cmd = c
	case Remove:
		c.Force = false
		cmd = c
	}
	return Format(cmd) + " (confirmed)"
}
