package slackfake_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"kuberpult/bot/slackfake"
)

func TestChatMethods(t *testing.T) {
	t.Parallel()
	s := slackfake.New(t)
	api := newAPI(s, slackfake.BotToken, slackfake.AppToken)

	ch, ts1, err := api.PostMessage("C1", slack.MsgOptionText("hello", false))
	if err != nil || ch != "C1" || ts1 == "" {
		t.Fatalf("PostMessage = %q, %q, %v", ch, ts1, err)
	}
	_, ts2, err := api.PostMessage("C1", slack.MsgOptionText("reply", false), slack.MsgOptionTS(ts1))
	if err != nil || ts2 <= ts1 {
		t.Fatalf("reply = %q, %v", ts2, err)
	}
	if _, _, _, err := api.UpdateMessage("C1", ts1, slack.MsgOptionText("hello again", false),
		slack.MsgOptionBlocks(slack.NewSectionBlock(text("hi"), nil, nil))); err != nil {
		t.Fatalf("UpdateMessage: %v", err)
	}
	if _, _, _, err := api.UpdateMessage("C1", "1.2", slack.MsgOptionText("x", false)); err == nil || err.Error() != "message_not_found" {
		t.Errorf("UpdateMessage of unknown ts: %v", err)
	}
	m, found := s.Message("C1", ts1)
	if !found || m.Text != "hello again" || m.User != slackfake.BotUserID || m.Blocks == nil {
		t.Errorf("message = %+v", m)
	}
	if msgs := s.Messages("C1"); len(msgs) != 1 || msgs[0].TS != ts1 {
		t.Errorf("messages = %+v", msgs)
	}
	if th := s.Thread("C1", ts1); len(th) != 1 || th[0].Text != "reply" || th[0].ThreadTS != ts1 {
		t.Errorf("thread = %+v", th)
	}

	ets, err := api.PostEphemeral("C1", "U1", slack.MsgOptionText("psst", false))
	if err != nil || ets == "" {
		t.Fatalf("PostEphemeral = %q, %v", ets, err)
	}
	if eph := s.Ephemerals("U1"); len(eph) != 1 || !eph[0].Ephemeral || eph[0].Text != "psst" || eph[0].TS != ets {
		t.Errorf("ephemerals = %+v", eph)
	}

	// Posting to a user id lands in the DM channel, as on Slack.
	if ch, _, err := api.PostMessage("U1", slack.MsgOptionText("dm", false)); err != nil || ch != "DU1" {
		t.Errorf("PostMessage to user = %q, %v", ch, err)
	}
	if msgs := s.Messages("DU1"); len(msgs) != 1 {
		t.Errorf("DM messages = %+v", msgs)
	}

	if n := len(s.Calls("chat.postMessage")); n != 3 {
		t.Errorf("%d chat.postMessage calls, want 3", n)
	}
	call := s.WaitCall(t, "chat.update", func(c slackfake.Call) bool { return c.Params["ts"] == ts1 })
	if call.Params["channel"] != "C1" || call.Params["text"] != "hello again" || call.Status != http.StatusOK {
		t.Errorf("update call = %+v", call)
	}
	if n := len(s.Calls("")); n != 6 {
		t.Errorf("%d calls, want 6", n)
	}
}

func TestDirectoryMethods(t *testing.T) {
	t.Parallel()
	s := slackfake.New(t)
	s.AddUser(slackfake.User{ID: "U1", Name: "alice", RealName: "Alice A", DisplayName: "ali", Email: "alice@example.com"})
	s.AddUser(slackfake.User{ID: "U2", Name: "bob", Deleted: true})
	s.AddGroup(slackfake.Group{ID: "S1", Handle: "team-a", Name: "Team A", Users: []string{"U1", "U2"}})
	api := newAPI(s, slackfake.BotToken, slackfake.AppToken)

	u, err := api.GetUserInfo("U1")
	if err != nil || u.ID != "U1" || u.Name != "alice" || u.RealName != "Alice A" || u.Profile.DisplayName != "ali" ||
		u.Profile.Email != "alice@example.com" || u.Deleted {
		t.Errorf("GetUserInfo = %+v, %v", u, err)
	}
	if u, err := api.GetUserInfo("U2"); err != nil || !u.Deleted {
		t.Errorf("deleted user = %+v, %v", u, err)
	}
	if _, err := api.GetUserInfo("U404"); err == nil || err.Error() != "user_not_found" {
		t.Errorf("unknown user: %v", err)
	}
	if u, err := api.GetUserByEmail("Alice@Example.com"); err != nil || u.ID != "U1" {
		t.Errorf("GetUserByEmail = %+v, %v", u, err)
	}
	if _, err := api.GetUserByEmail("nobody@example.com"); err == nil || err.Error() != "users_not_found" {
		t.Errorf("unknown email: %v", err)
	}

	groups, err := api.GetUserGroups(slack.GetUserGroupsOptionIncludeUsers(true))
	if err != nil || len(groups) != 1 || groups[0].ID != "S1" || groups[0].Handle != "team-a" || groups[0].Name != "Team A" ||
		!slices.Equal(groups[0].Users, []string{"U1", "U2"}) {
		t.Errorf("GetUserGroups = %+v, %v", groups, err)
	}
	if groups, err := api.GetUserGroups(); err != nil || len(groups) != 1 || groups[0].Users != nil {
		t.Errorf("GetUserGroups without users = %+v, %v", groups, err)
	}
	members, err := api.GetUserGroupMembers("S1")
	if err != nil || !slices.Equal(members, []string{"U1", "U2"}) {
		t.Errorf("GetUserGroupMembers = %v, %v", members, err)
	}
	if _, err := api.GetUserGroupMembers("S404"); err == nil || err.Error() != "no_such_subteam" {
		t.Errorf("unknown group: %v", err)
	}

	ch, _, already, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"U1"}})
	if err != nil || ch.ID != "DU1" || already {
		t.Errorf("OpenConversation = %+v, %v, %v", ch, already, err)
	}
	if _, _, already, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"U1"}}); err != nil || !already {
		t.Errorf("second OpenConversation: already_open %v, %v", already, err)
	}
	for _, m := range []string{"users.info", "users.lookupByEmail", "usergroups.list", "usergroups.users.list", "conversations.open"} {
		if len(s.Calls(m)) == 0 {
			t.Errorf("no %s call recorded", m)
		}
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	s := slackfake.New(t)
	api := newAPI(s, slackfake.BotToken, slackfake.AppToken)
	s.RateLimit("chat.postMessage", 1, 1500*time.Millisecond)
	_, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Fatalf("err = %v, want RateLimitedError after 2s", err)
	}
	if calls := s.Calls("chat.postMessage"); len(calls) != 1 || calls[0].Status != http.StatusTooManyRequests {
		t.Errorf("calls = %+v", calls)
	}
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false)); err != nil {
		t.Errorf("second PostMessage: %v", err)
	}
	if n := len(s.Messages("C1")); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s := slackfake.New(t)
	resp, err := newAPI(s, slackfake.BotToken, slackfake.AppToken).AuthTest()
	if err != nil || resp.UserID != "UBOT" || resp.BotID != "BBOT" || resp.Team != "T1" || resp.User != "kuberpult" {
		t.Errorf("AuthTest = %+v, %v", resp, err)
	}
	if _, err := newAPI(s, "xoxb-wrong", slackfake.AppToken).AuthTest(); err == nil || err.Error() != "invalid_auth" {
		t.Errorf("wrong bot token: %v", err)
	}
	if _, err := newAPI(s, "xoxb-wrong", slackfake.AppToken).OpenView("t", modal("x")); err == nil || err.Error() != "invalid_auth" {
		t.Errorf("wrong bot token (Bearer): %v", err)
	}
	if _, err := newAPI(s, slackfake.AppToken, slackfake.AppToken).AuthTest(); err == nil || err.Error() != "not_allowed_token_type" {
		t.Errorf("app token for bot method: %v", err)
	}

	res, err := http.PostForm(s.URL()+"no.such.method", url.Values{"token": {slackfake.BotToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.OK || body.Error != "unknown_method" {
		t.Errorf("unknown method answered %+v, %v", body, err)
	}
	if calls := s.Calls("no.such.method"); len(calls) != 1 || calls[0].Params["token"] != slackfake.BotToken {
		t.Errorf("unknown method calls = %+v", calls)
	}
}
