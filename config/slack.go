package config

import (
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Slack configures the Slack bot. Without both tokens the bot does not start.
type Slack struct {
	AppToken string `yaml:"app_token"` // xapp-…: the app-level token with connections:write (Socket Mode)
	BotToken string `yaml:"bot_token"` // xoxb-…: the bot token for the Web API
	APIURL   string `yaml:"api_url"`   // the Web API base; default https://slack.com/api/
	Command  string `yaml:"command"`   // the slash command; default /kuberpult
	// DefaultChannel gets what happens without a person asking (auto-deploys from CI, held
	// auto-deploys, failures) for apps whose team has no channel of its own.
	DefaultChannel string               `yaml:"default_channel"`
	Teams          map[string]SlackTeam `yaml:"teams"`
}

// SlackTeam is a team's Slack settings.
type SlackTeam struct {
	Channel string `yaml:"channel"` // channel id (C…), where the team's automation is announced
}

// Enabled reports whether the bot starts.
func (s Slack) Enabled() bool { return s.AppToken != "" || s.BotToken != "" }

// SlashCommand is the configured slash command, or /kuberpult.
func (s Slack) SlashCommand() string {
	if s.Command == "" {
		return "/kuberpult"
	}
	return s.Command
}

var (
	channelRE = regexp.MustCompile(`^[CGD][A-Z0-9]{2,}$`)
	commandRE = regexp.MustCompile(`^/[a-z0-9_-]{1,31}$`)
)

func (c Slack) validate(s *source) {
	if s.unread("slack.app_token") || s.unread("slack.bot_token") {
		return // why was said already
	}
	if !c.Enabled() {
		if c.DefaultChannel != "" || len(c.Teams) > 0 {
			s.problem("slack", "set app_token (xapp-…) and bot_token (xoxb-…) for the bot to post to channels")
		}
		return
	}
	if !strings.HasPrefix(c.AppToken, "xapp-") {
		s.problem("slack.app_token", "required: the app-level token (xapp-…, with the connections:write scope) from the app's Basic Information page")
	}
	if !strings.HasPrefix(c.BotToken, "xoxb-") {
		s.problem("slack.bot_token", "required: the bot token (xoxb-…) from the app's OAuth & Permissions page")
	}
	if c.APIURL != "" {
		if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			s.problem("slack.api_url", "%s is not an http(s) URL, e.g. https://slack.com/api/", s.quote("slack.api_url", c.APIURL))
		}
	}
	if c.Command != "" && !commandRE.MatchString(c.Command) {
		s.problem("slack.command", "%s is not a slash command: a / and up to 31 lowercase letters, digits, - or _, e.g. /kuberpult", s.quote("slack.command", c.Command))
	}
	if c.DefaultChannel != "" && !channelRE.MatchString(c.DefaultChannel) {
		s.problem("slack.default_channel", "%s is not a channel id: open the channel's details in Slack, the id (C…) is at the bottom", s.quote("slack.default_channel", c.DefaultChannel))
	}
	teams := make([]string, 0, len(c.Teams))
	for t := range c.Teams {
		teams = append(teams, t)
	}
	sort.Strings(teams)
	for _, t := range teams {
		if ch := c.Teams[t].Channel; !channelRE.MatchString(ch) {
			p := join("slack.teams", t) + ".channel"
			s.problem(p, "%s is not a channel id (C…)", s.quote(p, ch))
		}
	}
}
