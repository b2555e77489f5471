package config

import (
	"fmt"
	"net"
	"strings"
)

// Warnings lists what is valid in c but probably not meant: settings that leave Kuberpult
// open to everyone. `kuberpult check-config` prints them; they do not stop Kuberpult.
func (c *Config) Warnings() []string {
	out := upstreamWarnings(c.Environments)
	for _, env := range c.Environments.Names() {
		if c.Environments[env].ArgoCD == nil {
			out = append(out, fmt.Sprintf("environments.%s has no argocd section: its Argo CD file points the Applications at https://kubernetes.default.svc, namespace %s (Kuberpult's original writes no Argo CD file for it)", env, env))
		}
	}
	switch {
	case c.RBAC == nil:
		out = append(out, "no rbac section: everyone may do everything (as Kuberpult without authentication)")
	case c.RBAC.TeamPermissions && len(c.RBAC.Teams) == 0:
		out = append(out, "rbac.team_permissions is true but rbac.teams is empty: nobody may act on any app")
	}
	if c.Git.Transport() == TransportHTTP && c.Git.Token != "" {
		out = append(out, "git.url is plain http:// and git.token is set: the token travels unencrypted")
	}
	if len(c.API.Tokens) == 0 && c.API.Listen != "" && !loopback(c.API.Listen) {
		out = append(out, "no api.tokens: the HTTP API accepts unauthenticated requests on "+c.API.Listen)
	}
	return out
}

// loopback reports whether the host:port listen only accepts connections from this
// machine. A host name other than localhost counts as reachable from elsewhere.
func loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
