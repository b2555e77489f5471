package config

import (
	"errors"
	"strings"
	"time"

	"kuberpult/deploy"
	"kuberpult/schedule"
	"kuberpult/train"
)

// Train is a scheduled release train.
type Train struct {
	Name     string `yaml:"name"`     // e.g. daily-production: in commands (`hold train daily-production`) and the audit log
	Target   string `yaml:"target"`   // an environment or a group
	Team     string `yaml:"team"`     // only this team's apps; "" for all
	Schedule string `yaml:"schedule"` // cron: minute hour day-of-month month day-of-week, e.g. "30 11 * * MON-FRI"
	Timezone string `yaml:"timezone"` // IANA name, e.g. Europe/Berlin; default UTC
	// AnnounceBefore is how long before each departure it is announced, e.g. 30m; a
	// departure Kuberpult missed (it was down) still leaves up to as long after its time.
	AnnounceBefore string `yaml:"announce_before"`
	Channel        string `yaml:"channel"`  // Slack channel id of the announcements; default the team's channel, else slack.default_channel
	Approval       string `yaml:"approval"` // a role (role:…) one of whose holders approves each departure; "" for none
}

// DefaultAnnounceBefore is announce_before when a train leaves it out.
const DefaultAnnounceBefore = 30 * time.Minute

// maxAnnounceBefore keeps announcements within a week of their departure.
const maxAnnounceBefore = 7 * 24 * time.Hour

// ScheduledTrains returns the trains of a validated Config, ready for the scheduler.
func (c *Config) ScheduledTrains() []train.Scheduled {
	out := make([]train.Scheduled, 0, len(c.Trains))
	for _, t := range c.Trains {
		sched, err := schedule.Parse(t.Schedule, t.Timezone)
		if err != nil {
			continue // validate refused it
		}
		before := DefaultAnnounceBefore
		if t.AnnounceBefore != "" {
			before, _ = time.ParseDuration(t.AnnounceBefore)
		}
		out = append(out, train.Scheduled{Name: t.Name, Target: t.Target, Team: deploy.Team(t.Team), Schedule: sched,
			AnnounceBefore: before, Channel: t.Channel, Approval: t.Approval})
	}
	return out
}

// TrainChannel is where a train is announced: its channel, else its team's, else the
// default channel ("" when there is none).
func (c *Config) TrainChannel(t train.Scheduled) string {
	if t.Channel != "" {
		return t.Channel
	}
	if ch := c.Slack.Teams[string(t.Team)].Channel; t.Team != "" && ch != "" {
		return ch
	}
	return c.Slack.DefaultChannel
}

func (c *Config) validateTrains(s *source) {
	names := map[string]string{}
	for i, t := range c.Trains {
		p := index("trains", i)
		switch err := deploy.ValidateTrain(t.Name); {
		case t.Name == "":
			s.problem(p+".name", "required: a name such as daily-production, used in `hold train <name>`")
		case err != nil:
			s.problem(p+".name", "%v", err)
		case names[t.Name] != "":
			s.problem(p+".name", "%s is also the name of %s; every train needs its own name", s.quote(p+".name", t.Name), names[t.Name])
		default:
			names[t.Name] = p
		}
		switch {
		case t.Target == "":
			s.problem(p+".target", "required: the environment or group the train goes to, e.g. production")
		case len(train.Targets(c.Environments, t.Target)) == 0:
			s.problem(p+".target", "no environment or group %s; environments: %s", s.quote(p+".target", t.Target), envList(c.Environments))
		}
		if t.Team != "" {
			if err := deploy.ValidateTeam(t.Team); err != nil {
				s.problem(p+".team", "%v", err)
			}
		}
		if t.Schedule == "" {
			s.problem(p+".schedule", `required: a cron spec (minute hour day-of-month month day-of-week), e.g. "30 11 * * MON-FRI"`)
		} else if _, err := schedule.Parse(t.Schedule, ""); err != nil {
			if inner := errors.Unwrap(err); inner != nil {
				err = inner
			}
			s.problem(p+".schedule", `%s is not a cron spec of five fields (minute hour day-of-month month day-of-week), e.g. "30 11 * * MON-FRI": %v`,
				s.quote(p+".schedule", t.Schedule), err)
		} else if sched, err := schedule.Parse(t.Schedule, t.Timezone); err == nil && sched.Next(time.Unix(0, 0)).IsZero() {
			s.problem(p+".schedule", "%s never departs", s.quote(p+".schedule", t.Schedule))
		}
		if t.Timezone != "" {
			if _, err := time.LoadLocation(t.Timezone); err != nil || t.Timezone == "Local" {
				s.problem(p+".timezone", "%s is not a time zone; use an IANA name such as Europe/Berlin or UTC", s.quote(p+".timezone", t.Timezone))
			}
		}
		if t.AnnounceBefore != "" {
			d, err := time.ParseDuration(t.AnnounceBefore)
			if err != nil || d < 0 || d > maxAnnounceBefore {
				s.problem(p+".announce_before", "%s is not a duration between 0 and 168h, e.g. 30m or 2h", s.quote(p+".announce_before", t.AnnounceBefore))
			}
		}
		if t.Channel != "" && !channelRE.MatchString(t.Channel) {
			s.problem(p+".channel", "%s is not a channel id (C…)", s.quote(p+".channel", t.Channel))
		}
		if t.Approval != "" && (!strings.HasPrefix(t.Approval, "role:") || len(t.Approval) == len("role:") || strings.ContainsAny(t.Approval, " \t,")) {
			s.problem(p+".approval", "%s is not a role; write it as in rbac.policy, e.g. role:release-manager", s.quote(p+".approval", t.Approval))
		}
		if c.Slack.Enabled() && c.TrainChannel(train.Scheduled{Channel: t.Channel, Team: deploy.Team(t.Team)}) == "" {
			s.problem(p+".channel", "required with Slack: where the train is announced (or set slack.default_channel, or a channel for its team)")
		}
	}
}
