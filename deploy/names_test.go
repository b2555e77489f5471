package deploy

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateNames(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) error
		in    string
		ok    bool
	}{
		{"env", ValidateEnv, "production-de", true},
		{"env 20", ValidateEnv, strings.Repeat("a", 20), true},
		{"env 21", ValidateEnv, strings.Repeat("a", 21), false},
		{"env dots", ValidateEnv, "..", false},
		{"env slash", ValidateEnv, "a/b", false},
		{"env upper", ValidateEnv, "Prod", false},
		{"env double dash", ValidateEnv, "a--b", false},
		{"env trailing dash", ValidateEnv, "a-", false},
		{"app 39", ValidateApp, strings.Repeat("a", 39), true},
		{"app 40", ValidateApp, strings.Repeat("a", 40), false},
		{"team 63", ValidateTeam, strings.Repeat("t", 63), true},
		{"team 64", ValidateTeam, strings.Repeat("t", 64), false},
		{"empty", ValidateApp, "", false},
		{"lock id", ValidateLockID, "ui-v2-abc.1_x", true},
		{"lock id short", ValidateLockID, "a", false},
		{"lock id dotdot", ValidateLockID, "..", false},
		{"lock id slash", ValidateLockID, "a/b", false},
		{"lifetime", ValidateLifetime, "12h", true},
		{"lifetime weeks", ValidateLifetime, "2w", true},
		{"lifetime empty", ValidateLifetime, "", true},
		{"lifetime zero", ValidateLifetime, "0d", false},
		{"lifetime minutes", ValidateLifetime, "30m", true},
		{"lifetime upper case", ValidateLifetime, "2H", true},
		{"lifetime seconds", ValidateLifetime, "30s", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("check(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func TestLockApplies(t *testing.T) {
	env := Lock{Kind: LockEnv, Env: "staging"}
	app := Lock{Kind: LockApp, Env: "staging", App: "checkout"}
	team := Lock{Kind: LockTeam, Env: "staging", Team: "shop"}
	tests := []struct {
		lock Lock
		env  Env
		app  App
		team Team
		want bool
	}{
		{env, "staging", "anything", "", true},
		{env, "production", "checkout", "shop", false},
		{app, "staging", "checkout", "", true},
		{app, "staging", "catalog", "shop", false},
		{team, "staging", "catalog", "shop", true},
		{team, "staging", "payments", "pay", false},
		{team, "staging", "orphan", "", false},
	}
	for _, tt := range tests {
		if got := tt.lock.Applies(tt.env, tt.app, tt.team); got != tt.want {
			t.Errorf("%s.Applies(%s, %s, %s) = %v, want %v", tt.lock.Target(), tt.env, tt.app, tt.team, got, tt.want)
		}
	}
}

func TestEnvironmentsGroups(t *testing.T) {
	es := Environments{
		"development":   {},
		"production-de": {Group: "production"},
		"production-jp": {Group: "production"},
	}
	if got := es.Members("production"); len(got) != 2 || got[0] != "production-de" {
		t.Errorf("Members(production) = %v", got)
	}
	if got := es.GroupOf("development"); got != "development" {
		t.Errorf("GroupOf(development) = %s, want its own name", got)
	}
	if got := es.Groups(); len(got) != 2 || got[0] != "development" || got[1] != "production" {
		t.Errorf("Groups() = %v", got)
	}
}
