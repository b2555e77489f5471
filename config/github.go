package config

import (
	"net/url"
	"regexp"
)

// GitHub is the source repository's GitHub (the github section): changelogs in Slack and
// GitHub Deployments. Without a repo nothing is asked of GitHub.
type GitHub struct {
	Repo   string `yaml:"repo"`    // owner/name of the (mono)repo the releases' source commits are in
	Token  string `yaml:"token"`   // a token that may read the repo (and write deployments), e.g. ${GITHUB_TOKEN}
	APIURL string `yaml:"api_url"` // GitHub Enterprise's URL, e.g. https://github.example.com; default api.github.com
	// Deployments: create a GitHub Deployment per (app, environment) with statuses that
	// follow the rollout. Default false: only changelogs.
	Deployments bool `yaml:"deployments"`
}

// Enabled reports whether GitHub is used.
func (g GitHub) Enabled() bool { return g.Repo != "" }

var repoRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$`)

func (g GitHub) validate(s *source) {
	if g.Repo == "" {
		if g.Token != "" || g.APIURL != "" || g.Deployments {
			s.problem("github.repo", "required with the other github keys: the source repository as owner/name, e.g. acme/shop")
		}
		return
	}
	if !repoRE.MatchString(g.Repo) {
		s.problem("github.repo", "%s is not a repository as owner/name, e.g. acme/shop", s.quote("github.repo", g.Repo))
	}
	if g.Token == "" && !s.unread("github.token") {
		s.problem("github.token", "required: a GitHub token that may read the repository (and write deployments), e.g. ${GITHUB_TOKEN}")
	}
	if g.APIURL != "" {
		if u, err := url.Parse(g.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			s.problem("github.api_url", "%s is not an http(s) URL, e.g. https://github.example.com", s.quote("github.api_url", g.APIURL))
		}
	}
}
