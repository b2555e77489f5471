package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTrainProblems(t *testing.T) {
	yaml := head + lines(
		"environments: {staging: {upstream: {latest: true}}, production: {upstream: {environment: staging}}}", // 3
		"slack: {app_token: xapp-1, bot_token: xoxb-1}",                                                       // 4
		"trains:", // 5
		"  - {name: Daily, target: prod, schedule: '61 11 * * *', timezone: Mars/Olympus, announce_before: 2w}", // 6
		"  - {name: ok, target: production, schedule: '30 11 * * MON-FRI', approval: release-manager}",          // 7
		"  - {name: ok, target: production, schedule: '0 0 30 2 *', channel: general}",                          // 8
		"  - {target: production}", // 9
	)
	_, err := Parse([]byte(yaml), env(nil))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	channel := "channel: required with Slack: where the train is announced (or set slack.default_channel, or a channel for its team)"
	want := []string{
		`line 6: trains[0].name: train name "Daily" is not valid: use lowercase letters, digits and single dashes (^[a-z0-9]+(-[a-z0-9]+)*$)`,
		`line 6: trains[0].target: no environment or group "prod"; environments: production, staging`,
		`line 6: trains[0].schedule: "61 11 * * *" is not a cron spec of five fields (minute hour day-of-month month day-of-week), e.g. "30 11 * * MON-FRI": end of range (61) above maximum (59): 61`,
		`line 6: trains[0].timezone: "Mars/Olympus" is not a time zone; use an IANA name such as Europe/Berlin or UTC`,
		`line 6: trains[0].announce_before: "2w" is not a duration between 0 and 168h, e.g. 30m or 2h`,
		"line 6: trains[0]." + channel,
		`line 7: trains[1].approval: "release-manager" is not a role; write it as in rbac.policy, e.g. role:release-manager`,
		"line 7: trains[1]." + channel,
		`line 8: trains[2].name: "ok" is also the name of trains[1]; every train needs its own name`,
		`line 8: trains[2].schedule: "0 0 30 2 *" never departs`,
		`line 8: trains[2].channel: "general" is not a channel id (C…)`,
		"line 9: trains[3].name: required: a name such as daily-production, used in `hold train <name>`",
		`line 9: trains[3].schedule: required: a cron spec (minute hour day-of-month month day-of-week), e.g. "30 11 * * MON-FRI"`,
		"line 9: trains[3]." + channel,
	}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestScheduledTrains(t *testing.T) {
	yaml := head + lines(
		"environments: {staging: {upstream: {latest: true}}, production-de: {upstream: {environment: staging}, group: production}}",
		"slack: {app_token: xapp-1, bot_token: xoxb-1, default_channel: C0DEFAULT, teams: {shop: {channel: C0SHOP}}}",
		"trains:",
		"  - {name: daily, target: production, schedule: '30 11 * * MON-FRI', timezone: Europe/Berlin, approval: role:release-manager}",
		"  - {name: shop, target: production-de, team: shop, schedule: '0 9 * * *', announce_before: 1h}",
		"  - {name: own, target: staging, schedule: '0 9 * * *', announce_before: 0s, channel: C0OWN}",
	)
	c, err := Parse([]byte(yaml), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	got := c.ScheduledTrains()
	var rows []string
	for _, tr := range got {
		rows = append(rows, tr.Name+" "+tr.Target+" "+string(tr.Team)+" "+tr.Schedule.String()+" "+tr.Schedule.Location().String()+" "+
			tr.AnnounceBefore.String()+" "+tr.Approval+" "+c.TrainChannel(tr))
	}
	want := []string{
		"daily production  30 11 * * MON-FRI Europe/Berlin 30m0s role:release-manager C0DEFAULT",
		"shop production-de shop 0 9 * * * UTC 1h0m0s  C0SHOP",
		"own staging  0 9 * * * UTC 0s  C0OWN",
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("trains (-want +got):\n%s", diff)
	}
	if next := got[0].Schedule.Next(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)); !next.Equal(time.Date(2026, 12, 7, 10, 30, 0, 0, time.UTC)) {
		t.Errorf("next departure of daily after Friday noon = %v", next)
	}
}

// TestUpstreamWarnings: upstreams a release train cannot use are allowed, as in Kuberpult
// (the train skips the environment with the cause), and check-config warns of them.
func TestUpstreamWarnings(t *testing.T) {
	yaml := head + lines("environments:",
		"  development: {upstream: {latest: true}}",
		"  staging: {upstream: {environment: stagin}}",
		"  both: {upstream: {latest: true, environment: development}}",
		"  neither: {upstream: {}}",
		"  off: {upstream: {latest: false}}",
		"  production-de: {group: production}",
		"  canary: {upstream: {environment: production}}",
		"rbac: {policy: 'p, role:x, CreateLock, *:*, *, allow'}",
	)
	c, err := Parse([]byte(yaml), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	envs := "environments: both, canary, development, neither, off, production-de, staging"
	want := []string{
		"environments.both.upstream sets both latest: true and environment: every release is deployed to both, and release trains into it are skipped (ENV_HAS_BOTH_UPSTREAM_LATEST_AND_UPSTREAM_ENV)",
		`environments.canary.upstream.environment: no environment "production" (it is a group; the upstream is one environment); release trains into canary are skipped (UPSTREAM_ENV_CONFIG_NOT_FOUND); ` + envs,
		"environments.neither.upstream sets neither latest: true nor environment: release trains into neither are skipped (ENV_HAS_NO_UPSTREAM_LATEST_OR_UPSTREAM_ENV); leave upstream out if nothing should reach it",
		"environments.off.upstream sets neither latest: true nor environment: release trains into off are skipped (ENV_HAS_NO_UPSTREAM_LATEST_OR_UPSTREAM_ENV); leave upstream out if nothing should reach it",
		`environments.staging.upstream.environment: no environment "stagin"; release trains into staging are skipped (UPSTREAM_ENV_CONFIG_NOT_FOUND); ` + envs,
	}
	var got []string
	for _, w := range c.Warnings() {
		if strings.Contains(w, ".upstream") {
			got = append(got, w)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}
