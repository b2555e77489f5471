package commands

import (
	"fmt"
	"strings"
)

// Format renders a command back into the command language; Parse(Format(c)) gives c.
func Format(cmd Command) string {
	var w []string
	add := func(s ...string) { w = append(w, s...) }
	switch c := cmd.(type) {
	case Deploy:
		add("deploy", string(c.App))
		if c.Version != 0 {
			add(c.Version.String())
		}
		add("to", c.Target)
		if c.Lock != "" {
			add("--lock", q(c.Lock))
		}
		if c.Reason != "" {
			add("--reason", q(c.Reason))
		}
		if c.Force {
			add("--force")
		}
	case Rollback:
		add("rollback", string(c.App), "on", string(c.Env))
		if c.To != 0 {
			add("to", c.To.String())
		}
		if c.Reason != "" {
			add("--reason", q(c.Reason))
		}
	case Lock:
		add("lock")
		switch {
		case c.App != "":
			add(string(c.App), "on")
		case c.Team != "":
			add("team", string(c.Team), "on")
		}
		add(c.Target, q(c.Message))
		if c.Lifetime != "" {
			add("--for", c.Lifetime)
		}
		if c.ID != "" {
			add("--id", c.ID)
		}
	case Unlock:
		add("unlock")
		switch {
		case c.App != "":
			add(string(c.App), "on")
		case c.Team != "":
			add("team", string(c.Team), "on")
		}
		add(c.Target)
	case Locks:
		add("locks")
		if c.Target != "" {
			add(c.Target)
		}
	case Status:
		add("status")
		if c.App != "" {
			add(string(c.App))
		}
	case Envs:
		add("envs")
	case History:
		add("history", string(c.App))
		if c.Env != "" {
			add("on", string(c.Env))
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

// q quotes a message for the command language.
func q(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n\"'\\") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
