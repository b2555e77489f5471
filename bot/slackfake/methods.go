package slackfake

import (
	"encoding/json"
	"fmt"
	"strings"
)

// methods are the Web API methods the fake implements. Each runs with
// Server.mu held, after the token has been checked.
var methods = map[string]func(*Server, apiRequest) reply{
	"apps.connections.open": (*Server).appsConnectionsOpen,
	"auth.test":             (*Server).authTest,
	"chat.postMessage":      (*Server).chatPostMessage,
	"chat.update":           (*Server).chatUpdate,
	"chat.delete":           (*Server).chatDelete,
	"chat.postEphemeral":    (*Server).chatPostEphemeral,
	"views.open":            (*Server).viewsOpen,
	"views.push":            (*Server).viewsOpen,
	"views.publish":         (*Server).viewsPublish,
	"views.update":          (*Server).viewsUpdate,
	"users.info":            (*Server).usersInfo,
	"users.lookupByEmail":   (*Server).usersLookupByEmail,
	"usergroups.list":       (*Server).usergroupsList,
	"usergroups.users.list": (*Server).usergroupsUsersList,
	"conversations.open":    (*Server).conversationsOpen,
}

func (s *Server) appsConnectionsOpen(apiRequest) reply {
	return ok(map[string]any{"url": s.openConnectionLocked()})
}

func (s *Server) authTest(apiRequest) reply {
	return ok(map[string]any{
		"url":                   "https://fake.slack.com/",
		"team":                  TeamID,
		"user":                  BotName,
		"team_id":               TeamID,
		"user_id":               BotUserID,
		"bot_id":                BotID,
		"is_enterprise_install": false,
	})
}

// dmChannel maps a user id used as channel to the DM channel with the user.
func dmChannel(channel string) string {
	if strings.HasPrefix(channel, "U") || strings.HasPrefix(channel, "W") {
		return "D" + channel
	}
	return channel
}

// parseBlocks validates the "blocks" field: a JSON array, nil when empty.
func parseBlocks(field string) (json.RawMessage, bool) {
	if field == "" {
		return nil, true
	}
	var blocks []json.RawMessage
	if err := json.Unmarshal([]byte(field), &blocks); err != nil {
		return nil, false
	}
	if len(blocks) == 0 {
		return nil, true
	}
	return json.RawMessage(field), true
}

func (s *Server) chatPostMessage(req apiRequest) reply {
	p := req.params
	if p["channel"] == "" {
		return fail("channel_not_found")
	}
	blocks, valid := parseBlocks(p["blocks"])
	if !valid {
		return fail("invalid_blocks")
	}
	if p["text"] == "" && blocks == nil && p["attachments"] == "" {
		return fail("no_text")
	}
	m := Message{
		Channel:  dmChannel(p["channel"]),
		TS:       s.newTSLocked(),
		ThreadTS: p["thread_ts"],
		Text:     p["text"],
		Blocks:   blocks,
		User:     BotUserID,
	}
	s.store.add(m)
	return ok(map[string]any{"channel": m.Channel, "ts": m.TS, "message": messageObject(m)})
}

func (s *Server) chatUpdate(req apiRequest) reply {
	p := req.params
	channel := dmChannel(p["channel"])
	m := s.store.message(channel, p["ts"])
	if m == nil || m.Ephemeral {
		return fail("message_not_found")
	}
	if text, ok := p["text"]; ok {
		m.Text = text
	}
	if field, ok := p["blocks"]; ok {
		blocks, valid := parseBlocks(field)
		if !valid {
			return fail("invalid_blocks")
		}
		m.Blocks = blocks
	}
	return ok(map[string]any{"channel": channel, "ts": m.TS, "text": m.Text, "message": messageObject(*m)})
}

func (s *Server) chatDelete(req apiRequest) reply {
	channel := dmChannel(req.params["channel"])
	if m := s.store.message(channel, req.params["ts"]); m == nil || m.Ephemeral {
		return fail("message_not_found")
	}
	s.store.remove(channel, req.params["ts"])
	return ok(map[string]any{"channel": channel, "ts": req.params["ts"]})
}

func (s *Server) chatPostEphemeral(req apiRequest) reply {
	p := req.params
	if p["channel"] == "" {
		return fail("channel_not_found")
	}
	if p["user"] == "" {
		return fail("user_not_in_channel")
	}
	blocks, valid := parseBlocks(p["blocks"])
	if !valid {
		return fail("invalid_blocks")
	}
	if p["text"] == "" && blocks == nil && p["attachments"] == "" {
		return fail("no_text")
	}
	m := Message{
		Channel:   dmChannel(p["channel"]),
		TS:        s.newTSLocked(),
		ThreadTS:  p["thread_ts"],
		Text:      p["text"],
		Blocks:    blocks,
		User:      p["user"],
		Ephemeral: true,
	}
	s.store.add(m)
	return ok(map[string]any{"message_ts": m.TS})
}

// viewsRequest is the JSON body of the views.* methods.
type viewsRequest struct {
	TriggerID  string          `json:"trigger_id"`
	UserID     string          `json:"user_id"`
	ViewID     string          `json:"view_id"`
	ExternalID string          `json:"external_id"`
	View       json.RawMessage `json:"view"`
}

// parseViewsRequest decodes the body; ok is false when it has no view.
func parseViewsRequest(req apiRequest) (viewsRequest, bool) {
	var vr viewsRequest
	if req.body == nil || json.Unmarshal(req.body, &vr) != nil {
		return vr, false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(vr.View, &obj) != nil || obj == nil {
		return vr, false
	}
	return vr, true
}

// buildViewLocked turns a requested view into the stored one, with the id
// and the fields Slack adds. ok is false for a malformed view.
func (s *Server) buildViewLocked(id, user, defaultType string, requested json.RawMessage) (*View, bool) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(requested, &obj); err != nil {
		return nil, false
	}
	set := func(k string, v any) { obj[k], _ = json.Marshal(v) }
	str := func(k string) string {
		var v string
		_ = json.Unmarshal(obj[k], &v)
		return v
	}
	if str("type") == "" {
		set("type", defaultType)
	}
	if b := obj["blocks"]; len(b) == 0 || string(b) == "null" {
		set("blocks", []any{})
	}
	for _, k := range []string{"private_metadata", "callback_id", "external_id"} {
		if _, ok := obj[k]; !ok {
			set(k, "")
		}
	}
	set("id", id)
	set("team_id", TeamID)
	set("app_id", AppID)
	set("bot_id", BotID)
	set("app_installed_team_id", TeamID)
	set("state", map[string]any{"values": map[string]any{}})
	set("hash", fmt.Sprintf("1700000000.fakehash%d", s.nextLocked("hash")))
	set("root_view_id", id)
	set("previous_view_id", nil)
	raw, _ := json.Marshal(obj)
	return &View{
		ID:              id,
		Type:            str("type"),
		User:            user,
		CallbackID:      str("callback_id"),
		PrivateMetadata: str("private_metadata"),
		Blocks:          obj["blocks"],
		Raw:             raw,
	}, true
}

// newViewIDLocked returns a fresh view id.
func (s *Server) newViewIDLocked() string {
	return fmt.Sprintf("V%08d", s.nextLocked("view"))
}

func (s *Server) viewsOpen(req apiRequest) reply {
	vr, valid := parseViewsRequest(req)
	if !valid || vr.TriggerID == "" {
		return fail("invalid_arguments")
	}
	v, valid := s.buildViewLocked(s.newViewIDLocked(), s.triggers[vr.TriggerID], "modal", vr.View)
	if !valid {
		return fail("invalid_arguments")
	}
	s.store.views = append(s.store.views, v)
	return ok(map[string]any{"view": v.Raw})
}

func (s *Server) viewsPublish(req apiRequest) reply {
	vr, valid := parseViewsRequest(req)
	if !valid || vr.UserID == "" {
		return fail("invalid_arguments")
	}
	old := s.store.homeView(vr.UserID)
	id := s.newViewIDLocked()
	if old != nil {
		id = old.ID
	}
	v, valid := s.buildViewLocked(id, vr.UserID, "home", vr.View)
	if !valid {
		return fail("invalid_arguments")
	}
	if old != nil {
		*old = *v
	} else {
		s.store.views = append(s.store.views, v)
	}
	return ok(map[string]any{"view": v.Raw})
}

func (s *Server) viewsUpdate(req apiRequest) reply {
	vr, valid := parseViewsRequest(req)
	if !valid || (vr.ViewID == "" && vr.ExternalID == "") {
		return fail("invalid_arguments")
	}
	var old *View
	for _, v := range s.store.views {
		if (vr.ViewID != "" && v.ID == vr.ViewID) || (vr.ViewID == "" && externalID(v) == vr.ExternalID) {
			old = v
		}
	}
	if old == nil {
		return fail("not_found")
	}
	v, valid := s.buildViewLocked(old.ID, old.User, old.Type, vr.View)
	if !valid {
		return fail("invalid_arguments")
	}
	*old = *v
	return ok(map[string]any{"view": v.Raw})
}

// externalID is the external_id of a stored view.
func externalID(v *View) string {
	var obj struct {
		ExternalID string `json:"external_id"`
	}
	_ = json.Unmarshal(v.Raw, &obj)
	return obj.ExternalID
}
