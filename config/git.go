package config

import (
	"errors"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// Transport is how Kuberpult reaches the environment repository.
type Transport string

const (
	TransportLocal Transport = "local" // a path or file:// URL on this machine
	TransportHTTPS Transport = "https" // https://host/org/repo.git, optionally with git.token
	TransportHTTP  Transport = "http"  // http://host/org/repo.git: a git server inside a trusted network
	TransportSSH   Transport = "ssh"   // ssh://host/repo.git or git@host:org/repo.git
)

// Transport says how the repository at g.URL is reached; "" if the URL is not valid.
func (g Git) Transport() Transport {
	t, _ := transport(g.URL)
	return t
}

// transport classifies a git URL the way git does. The error never contains the URL.
func transport(u string) (Transport, error) {
	scheme, rest, hasScheme := strings.Cut(u, "://")
	if hasScheme {
		switch scheme {
		case "https", "http", "ssh":
			p, err := url.Parse(u)
			if err != nil || p.Host == "" {
				return "", errors.New("is not a valid URL: it needs a host, e.g. " + scheme + "://example.com/org/envrepo.git")
			}
			return Transport(scheme), nil
		case "file":
			if !path.IsAbs(rest) {
				return "", errors.New("file:// URLs need an absolute path, e.g. file:///srv/envrepo.git; or write a path relative to the config file")
			}
			return TransportLocal, nil
		}
		return "", errors.New("has an unsupported scheme; use a local path, file://, https://, http:// or ssh (ssh:// or git@host:org/repo.git)")
	}
	// Like git: "host:path" is ssh when no slash comes before the colon.
	if colon := strings.IndexByte(u, ':'); colon > 0 && !strings.Contains(u[:colon], "/") {
		return TransportSSH, nil
	}
	return TransportLocal, nil
}

var branchRE = regexp.MustCompile(`^[A-Za-z0-9._/-]+$`)

func validBranch(b string) bool {
	return branchRE.MatchString(b) && !strings.Contains(b, "..") && !strings.Contains(b, "//") &&
		!strings.HasPrefix(b, "-") && !strings.HasPrefix(b, "/") && !strings.HasPrefix(b, ".") &&
		!strings.HasSuffix(b, "/") && !strings.HasSuffix(b, ".") && !strings.HasSuffix(b, ".lock")
}

func (g Git) validate(s *source) {
	var t Transport
	if g.URL == "" {
		s.problem("git.url", "required: the environment repository, e.g. ./data/envrepo.git, https://github.com/org/envrepo.git or git@github.com:org/envrepo.git")
	} else {
		var err error
		if t, err = transport(g.URL); err != nil {
			s.problem("git.url", "%s %v", s.quote("git.url", g.URL), err)
		}
	}
	if !validBranch(g.Branch) {
		s.problem("git.branch", "%s is not a valid branch name (default %s)", s.quote("git.branch", g.Branch), DefaultBranch)
	}
	if g.Token != "" && t != "" && t != TransportHTTPS && t != TransportHTTP {
		s.problem("git.token", "is only used with an https:// (or http://) git.url; this one is %s", t)
	}
	if g.SSHKey != "" && t != "" && t != TransportSSH {
		s.problem("git.ssh_key", "is only used with an ssh git.url; this one is %s", t)
	}
	if strings.ContainsAny(g.ArgoCDRepoURL, " \t\n") {
		s.problem("git.argocd_repo_url", "%s is not a URL", s.quote("git.argocd_repo_url", g.ArgoCDRepoURL))
	}
	g.Author.validate(s, "git.author")
}
