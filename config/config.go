package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"kuberpult/deploy"
)

// Config is Kuberpult's configuration. Each field is a top-level key of the file; a new
// section is a new field with a yaml tag (and, if it needs checks, a call in validate).
type Config struct {
	State        State               `yaml:"state"`
	Git          Git                 `yaml:"git"`
	Environments deploy.Environments `yaml:"environments"`
	RBAC         *RBAC               `yaml:"rbac"` // nil: everyone may do everything
	API          API                 `yaml:"api"`
	Console      Console             `yaml:"console"`
	Slack        Slack               `yaml:"slack"`
	ArgoCD       ArgoCDConn          `yaml:"argocd"`
	GitHub       GitHub              `yaml:"github"`
	Windows      []Window            `yaml:"windows"`
	Approvals    Approvals           `yaml:"approvals"`
	Trains       []Train             `yaml:"trains"`

	file  string    // the file it was read from, for errors
	unset []Problem // secrets whose variable is not set (NeedSecrets)
}

// NeedSecrets fails when a secret that the parts about to start use reads an environment
// variable that is not set: the secrets under the given key paths (prefixes such as
// "git." or "slack."), or every secret when none is given.
func (c *Config) NeedSecrets(prefixes ...string) error {
	var missing []Problem
	for _, p := range c.unset {
		match := len(prefixes) == 0
		for _, pre := range prefixes {
			match = match || strings.HasPrefix(p.Path, pre)
		}
		if match {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &ValidationError{File: c.file, Problems: missing}
}

// State says where Kuberpult keeps its state.
type State struct {
	SQLite string `yaml:"sqlite"` // path of the SQLite database file
	// Postgres is a PostgreSQL database instead (exactly one of the two).
	Postgres Postgres `yaml:"postgres"`
}

// Postgres says how to reach PostgreSQL.
type Postgres struct {
	DSN string `yaml:"dsn"` // e.g. ${KUBERPULT_DATABASE_URL}: postgres://user:password@host:5432/db
}

// Git is the environment repository Kuberpult writes and Argo CD reads.
type Git struct {
	URL           string `yaml:"url"`             // local path, file://, https:// or ssh
	Branch        string `yaml:"branch"`          // default "main"
	Token         string `yaml:"token"`           // https only: sent as the password
	SSHKey        string `yaml:"ssh_key"`         // ssh only: private key file; else the ssh agent
	ArgoCDRepoURL string `yaml:"argocd_repo_url"` // repoURL in Argo CD Applications; default URL
	Author        Person `yaml:"author"`          // committer of Kuberpult's commits
}

// API configures the HTTP API.
type API struct {
	Listen string  `yaml:"listen"` // host:port; "" disables the API
	Tokens []Token `yaml:"tokens"` // clients allowed in; none: requests are not authenticated
}

// Console configures `kuberpult console`.
type Console struct {
	User Person `yaml:"user"` // the person the console acts as
}

// Person is a name and an email address.
type Person struct {
	Name  string `yaml:"name"`
	Email string `yaml:"email"`
}

// Defaults of keys the file may leave out.
const (
	DefaultBranch = "main"
	DefaultListen = "127.0.0.1:8080"
	// ListenEnv names the environment variable that, when set, replaces DefaultListen
	// (api.listen in the file still wins); the container image sets it to 0.0.0.0:8080.
	ListenEnv          = "KUBERPULT_API_LISTEN"
	DefaultAuthorName  = "Kuberpult"
	DefaultAuthorEmail = "kuberpult@localhost"
)

// String formats g without its token, so printing a Config never shows the secret.
func (g Git) String() string {
	return fmt.Sprintf("{URL:%s Branch:%s Token:%s SSHKey:%s ArgoCDRepoURL:%s Author:%v}",
		g.URL, g.Branch, redacted(g.Token), g.SSHKey, g.ArgoCDRepoURL, g.Author)
}

// GoString is g as Go syntax, with the token replaced by "<redacted>".
func (g Git) GoString() string {
	return fmt.Sprintf("config.Git{URL:%q, Branch:%q, Token:%q, SSHKey:%q, ArgoCDRepoURL:%q, Author:%#v}",
		g.URL, g.Branch, redacted(g.Token), g.SSHKey, g.ArgoCDRepoURL, g.Author)
}

// Format makes every verb print g without its token: %#v as GoString, the others as String.
func (g Git) Format(f fmt.State, verb rune) {
	formatSafe(f, verb, g.String(), g.GoString())
}

// LogValue keeps the token out of log/slog, whatever the handler: g logs as String.
func (g Git) LogValue() slog.Value { return slog.StringValue(g.String()) }

// MarshalJSON encodes g with "<redacted>" for the token, so that JSON logs of a Config
// never show it.
func (g Git) MarshalJSON() ([]byte, error) {
	type plain Git // without methods
	g.Token = redacted(g.Token)
	return json.Marshal(plain(g))
}

// Load reads the configuration file at path, expanding ${VAR} from the process
// environment, and resolves its relative paths against the file's directory.
// Problems in the file are returned as a *ValidationError naming the file.
func Load(path string) (*Config, error) {
	return load(path, os.LookupEnv)
}

func load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(data, lookupEnv, path, filepath.Dir(abs))
}

// Parse reads a configuration from data, expanding ${VAR} with lookupEnv (os.LookupEnv in
// Load; nil means no variables are set). Relative paths are left as written. Problems are
// returned as a *ValidationError.
func Parse(data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	return parse(data, lookupEnv, "", "")
}

// parse decodes, validates and completes a configuration. file names it in errors; a
// non-empty dir is where relative paths are resolved.
func parse(data []byte, lookupEnv func(string) (string, bool), file, dir string) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	root, p := parseYAML(data)
	if p != nil {
		return nil, &ValidationError{File: file, Problems: []Problem{*p}}
	}
	src := newSource()
	d := newDecoder(src)
	d.expand(root, "", lookupEnv)
	c := defaults(lookupEnv)
	d.decode(root, "", reflect.ValueOf(c).Elem())
	c.validate(src)
	if dir != "" {
		c.RBAC.readPolicy(dir, src)
	}
	c.validateRoles(src)
	if len(src.problems) > 0 {
		return nil, &ValidationError{File: file, Problems: src.sorted()}
	}
	if dir != "" {
		c.resolvePaths(dir)
	}
	if c.Git.ArgoCDRepoURL == "" {
		c.Git.ArgoCDRepoURL = c.Git.URL
	}
	c.addSyncWindows()
	c.file, c.unset = file, src.unset
	return c, nil
}

var yamlErrRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML returns the root mapping of the single document in data.
func parseYAML(data []byte) (*yaml.Node, *Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Problem{Msg: "the file is empty; it needs at least state, git and environments"}
		}
		return nil, yamlProblem(err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlProblem(err)
		}
		return nil, &Problem{Line: next.Line, Msg: "only one YAML document is allowed; remove the second \"---\""}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Problem{Line: root.Line, Msg: "the top level must be a mapping with keys such as state, git and environments"}
	}
	return root, nil
}

func yamlProblem(err error) *Problem {
	if m := yamlErrRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Problem{Line: line, Msg: m[2]}
	}
	return &Problem{Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
}

var userRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// defaults is the configuration before the file is decoded onto it: keys missing from
// the file keep these values.
func defaults(lookupEnv func(string) (string, bool)) *Config {
	user := "console"
	if u, ok := lookupEnv("USER"); ok && userRE.MatchString(u) {
		user = u
	}
	listen := DefaultListen
	if l, ok := lookupEnv(ListenEnv); ok && l != "" {
		listen = l // the container image listens on every interface
	}
	return &Config{
		Git: Git{
			Branch: DefaultBranch,
			Author: Person{Name: DefaultAuthorName, Email: DefaultAuthorEmail},
		},
		API:     API{Listen: listen},
		Console: Console{User: Person{Name: user, Email: user + "@localhost"}},
	}
}

// resolvePaths makes the relative file paths of c absolute, relative to dir.
func (c *Config) resolvePaths(dir string) {
	if s := c.State.SQLite; s != "" && s != ":memory:" && !strings.HasPrefix(s, "file:") {
		c.State.SQLite = resolve(dir, s)
	}
	if c.Git.Transport() == TransportLocal && !strings.HasPrefix(c.Git.URL, "file://") {
		c.Git.URL = resolve(dir, c.Git.URL)
	}
	if c.ArgoCD.CAFile != "" {
		c.ArgoCD.CAFile = resolve(dir, c.ArgoCD.CAFile)
	}
	if c.Git.SSHKey != "" {
		c.Git.SSHKey = resolve(dir, c.Git.SSHKey)
	}
	if c.RBAC != nil {
		c.RBAC.PolicyFile = resolve(dir, c.RBAC.PolicyFile)
	}
}

func resolve(dir, path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}
