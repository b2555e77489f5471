package commands

import "kuberpult/deploy"

// Command is a parsed command. The concrete types below are the verbs of the language.
type Command interface{ verb() string }

// Deploy deploys a release of an app to an environment or group.
type Deploy struct {
	App     deploy.App
	Version deploy.Version // 0 means the newest release ("latest") unless Display is set
	Display string         // a release's display version (v1.2.0), resolved by the handler
	Target  string         // environment or group
	Lock    string         // --lock "<message>": lock the app there too (Deploy & Lock)
	Reason  string
	Force   bool // skip the question when a lock stands in the way
	// From is a precondition (a confirmation or a button carries it): each of these
	// environments still runs this version (0: nothing), else nothing happens.
	From []EnvVersion
}

// EnvVersion is the version an app runs on an environment (0: none).
type EnvVersion struct {
	Env     deploy.Env
	Version deploy.Version
}

// Rollback deploys the previously deployed version (or To) and locks the app there.
type Rollback struct {
	App     deploy.App
	Env     deploy.Env
	To      deploy.Version // 0: the version deployed before the current one (unless Display)
	Display string         // to a release by its display version (v1.2.0)
	Reason  string
	// From is a precondition (a button carries it): the app still runs this version on Env,
	// else nothing happens. 0: no precondition.
	From  deploy.Version
	Force bool // skip the question when a lock stands in the way
}

// Lock creates an environment, group, app or team lock.
type Lock struct {
	Kind     deploy.LockKind
	Target   string // environment or group
	App      deploy.App
	Team     deploy.Team
	Message  string
	Lifetime string // --for
	ID       string // --id: a chosen lock id (default: a generated one)
}

// Unlock removes locks. The forms:
//
//	unlock <word>                          Target: a lock id, or an environment or group (the handler decides; it asks when it is both)
//	unlock --id <lock-id>                  ID only: the lock(s) with that id, anywhere
//	unlock env <env|group>                 Kind env, Target: every environment lock there
//	unlock <env|group> --id <lock-id>      Kind env, Target, ID: exactly that lock; nothing to do when missing
//	unlock <app> on <env|group> [--id ...] Kind app: the app's locks there (or exactly one)
//	unlock team <team> on <env|group> [--id ...]
//
// An exact unlock (Kind and ID set) succeeds with nothing to do when there is no such lock,
// so retries are harmless (the HTTP API's DELETE).
type Unlock struct {
	Kind   deploy.LockKind
	Target string
	App    deploy.App
	Team   deploy.Team
	ID     string
}

// Audit lists the audit log.
type Audit struct {
	Since string // a duration back from now: 30m, 4h, 1d, 2w
	Actor string
	Env   deploy.Env
}

// Locks lists locks, optionally of one environment or group.
type Locks struct{ Target string }

// Status shows what runs where (all apps, or one app in detail).
type Status struct{ App deploy.App }

// Envs lists the environments.
type Envs struct{}

// History lists the deployments of an app.
type History struct {
	App deploy.App
	Env deploy.Env
}

// Help explains the language or one verb.
type Help struct{ Verb string }

func (Deploy) verb() string   { return "deploy" }
func (Rollback) verb() string { return "rollback" }
func (Lock) verb() string     { return "lock" }
func (Unlock) verb() string   { return "unlock" }
func (Locks) verb() string    { return "locks" }
func (Status) verb() string   { return "status" }
func (Envs) verb() string     { return "envs" }
func (History) verb() string  { return "history" }
func (Help) verb() string     { return "help" }
func (Audit) verb() string    { return "audit" }

// Verb returns the command word of c.
func Verb(c Command) string { return c.verb() }

// usage is the synopsis of each verb, in the order help lists them.
var usage = []struct{ verb, synopsis, about string }{
	{"deploy", `deploy <app> [<version>|latest] to <env|group> [--lock "<message>"] [--reason "<why>"] [--force]`,
		"deploy a release by hand; locks are shown and need confirmation (or --force)"},
	{"rollback", `rollback <app> on <env> [to <version>] [--reason "<why>"] [--force]`,
		"deploy the previously deployed version and lock the app there; locks are shown and need confirmation (or --force)"},
	{"lock", `lock <env|group> "<message>" [--for 4h] [--id <lock-id>]` + "\n" +
		`lock <app> on <env|group> "<message>" [--for 1d] [--id <lock-id>]` + "\n" +
		`lock team <team> on <env|group> "<message>" [--for 1w] [--id <lock-id>]`,
		"stop automated deployments (manual deploys still work, with a warning)"},
	{"unlock", "unlock <lock-id> | unlock <env|group> | unlock <app> on <env|group> | unlock team <team> on <env|group>",
		"remove locks; never deploys, tells what is waiting\n" +
			"Exact forms: `unlock --id <lock-id>` (that lock id wherever it is), `unlock env <env|group>`\n" +
			"(every environment lock there), and `--id <lock-id>` after a target to remove exactly that\n" +
			"lock (nothing to do when it is gone): `unlock staging --id freeze`, `unlock checkout on staging --id lk-1`."},
	{"train", "train <env|group> [--team <team>] [--dry-run]",
		"release train: deploy to the target what runs in its upstream (the newest releases for a latest upstream); --dry-run shows the plan"},
	{"trains", "trains", "the scheduled trains: next departure, announced, held, approved, how the last one ended"},
	{"hold", `hold train <name> ["<reason>"]` + "\n" + `hold <app> for train <name> ["<reason>"]`,
		"hold the next departure of a scheduled train, or keep your app out of it (an app lock until it has left)"},
	{"unhold", "unhold train <name> | unhold <app> for train <name>", "undo a hold"},
	{"approve", "approve <id> | approve train <name>", "approve a request (a deploy inside a window that needs an approval) or the next departure of a train that needs one"},
	{"reject", "reject <id>", "reject an approval request (or withdraw your own)"},
	{"windows", "windows", "peak hours and freezes: which are open (until when), the next opening of the others"},
	{"undeploy", "undeploy <app>\nundeploy <app> --confirm [--force]",
		"retire an app in two steps: `undeploy <app>` prepares its undeploy version (deploying it removes the app there; it goes to the latest environments at once and downstream with trains); once it runs everywhere, `--confirm` deletes the app: its locks, deployments and directories (asks first; --force skips that)"},
	{"remove", `remove <app> from <env> [--reason "<why>"] [--force]`,
		"take an app off one environment now: its directory and Argo CD Application (asks first, showing the locks; --force skips that)"},
	{"locks", "locks [<env|group>]", "list locks"},
	{"status", "status [<app>]", "what runs where, locks and held deployments"},
	{"envs", "envs", "list environments, their upstreams and groups"},
	{"history", "history <app> [on <env|group>]", "deployments of an app, newest first"},
	{"releases", "releases <app>", "the releases of an app, newest first, and where each runs"},
	{"audit", "audit [--since 1d] [--actor <subject>] [--env <env>]", "who did what, through which entry point, with what outcome and commit"},
	{"help", "help [<command>]", "this help"},
}

// VerbUsage describes one verb of the command language.
type VerbUsage struct {
	Verb     string
	Synopsis string // one line per form
	About    string
}

// Usage returns every verb's usage, in the order help lists them.
func Usage() []VerbUsage {
	out := make([]VerbUsage, len(usage))
	for i, u := range usage {
		out[i] = VerbUsage{Verb: u.verb, Synopsis: u.synopsis, About: u.about}
	}
	return out
}

func synopsis(verb string) string {
	for _, u := range usage {
		if u.verb == verb {
			return u.synopsis
		}
	}
	return ""
}

func verbs() []string {
	out := make([]string, len(usage))
	for i, u := range usage {
		out[i] = u.verb
	}
	return out
}
