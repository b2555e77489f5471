package slackfake

import (
	"encoding/json"
	"strings"
)

// BlockAction is a click on a button, in a message or in a view.
type BlockAction struct {
	UserID string
	// ChannelID and MessageTS identify the message clicked in; the current
	// state of the message (its blocks) is included when the fake knows it.
	ChannelID string
	MessageTS string
	// ThreadTS is the thread of the message; taken from the known message
	// when empty.
	ThreadTS string
	ActionID string
	BlockID  string
	Value    string
	// SelectedOption makes the action a choice in a static_select menu of the message
	// (its value) rather than a button click.
	SelectedOption string
	// TriggerID is generated when empty.
	TriggerID string
	// ViewID marks a click in the App Home or a modal (container type
	// "view"); the view is included when the fake knows it.
	ViewID string
}

// ViewSubmission is the submission of a modal.
type ViewSubmission struct {
	UserID string
	// ViewID is the id of a view the fake opened (views.open), or arbitrary.
	ViewID string
	// CallbackID and PrivateMetadata default to those of the known view.
	CallbackID      string
	PrivateMetadata string
	// Values is the view state: block id → action id → value.
	Values map[string]map[string]Value
}

// Value is the state of one input element of a submitted view.
type Value struct {
	// Type is the element type, "plain_text_input" when empty; for example
	// "static_select", "radio_buttons", "users_select".
	Type string
	// Value is the text of text inputs.
	Value string
	// SelectedOption is the value (and text) of the chosen option of
	// selects and radio buttons.
	SelectedOption string
}

// userObjectLocked is the "user" object of interaction payloads.
func (s *Server) userObjectLocked(id string) map[string]any {
	name := s.userNameLocked(id)
	return map[string]any{"id": id, "username": name, "name": name, "team_id": TeamID}
}

// BlockAction sends an "interactive" envelope with a "block_actions"
// payload for a button click and returns the envelope id.
func (s *Server) BlockAction(a BlockAction) string {
	return s.send("interactive", false, func() any {
		if a.TriggerID == "" {
			a.TriggerID = s.newTriggerLocked(a.UserID)
		} else {
			s.rememberTriggerLocked(a.TriggerID, a.UserID)
		}
		actionTS := s.newTSLocked()
		p := map[string]any{
			"type":                  "block_actions",
			"token":                 VerificationToken,
			"api_app_id":            AppID,
			"team":                  map[string]any{"id": TeamID, "domain": "fake"},
			"user":                  s.userObjectLocked(a.UserID),
			"trigger_id":            a.TriggerID,
			"response_url":          s.responseURLLocked(),
			"is_enterprise_install": false,
			"state":                 map[string]any{"values": map[string]any{}},
			"actions": []map[string]any{{
				"action_id": a.ActionID,
				"block_id":  a.BlockID,
				"value":     a.Value,
				"type":      "button",
				"action_ts": actionTS,
				"text":      map[string]any{"type": "plain_text", "text": a.ActionID, "emoji": true},
			}},
		}
		if a.SelectedOption != "" {
			p["actions"] = []map[string]any{{
				"action_id": a.ActionID,
				"block_id":  a.BlockID,
				"type":      "static_select",
				"action_ts": actionTS,
				"selected_option": map[string]any{
					"text":  map[string]any{"type": "plain_text", "text": a.SelectedOption, "emoji": true},
					"value": a.SelectedOption,
				},
				"placeholder": map[string]any{"type": "plain_text", "text": "Choose", "emoji": true},
			}}
		}
		if a.ViewID != "" {
			p["container"] = map[string]any{"type": "view", "view_id": a.ViewID}
			if v := s.store.view(a.ViewID); v != nil {
				p["view"] = v.Raw
			} else {
				p["view"] = map[string]any{"id": a.ViewID, "team_id": TeamID, "blocks": []any{}}
			}
			return p
		}
		msg := map[string]any{"type": "message", "ts": a.MessageTS}
		ephemeral := false
		if m := s.store.message(a.ChannelID, a.MessageTS); m != nil {
			msg = messageObject(*m)
			ephemeral = m.Ephemeral
			if a.ThreadTS == "" {
				a.ThreadTS = m.ThreadTS
			}
		}
		if a.ThreadTS != "" {
			msg["thread_ts"] = a.ThreadTS
		}
		container := map[string]any{
			"type":         "message",
			"message_ts":   a.MessageTS,
			"channel_id":   a.ChannelID,
			"is_ephemeral": ephemeral,
		}
		if a.ThreadTS != "" {
			container["thread_ts"] = a.ThreadTS
		}
		p["container"] = container
		p["channel"] = map[string]any{"id": a.ChannelID, "name": channelName(a.ChannelID)}
		p["message"] = msg
		return p
	})
}

// ViewSubmission sends an "interactive" envelope with a "view_submission"
// payload (accepts_response_payload true, so the ack may carry a
// response_action) and returns the envelope id.
func (s *Server) ViewSubmission(v ViewSubmission) string {
	return s.send("interactive", true, func() any {
		view := map[string]any{}
		if known := s.store.view(v.ViewID); known != nil {
			var fields map[string]json.RawMessage
			_ = json.Unmarshal(known.Raw, &fields)
			for k, f := range fields {
				view[k] = f
			}
		} else {
			view = map[string]any{
				"id":               v.ViewID,
				"team_id":          TeamID,
				"type":             "modal",
				"blocks":           []any{},
				"app_id":           AppID,
				"bot_id":           BotID,
				"root_view_id":     v.ViewID,
				"previous_view_id": nil,
				"hash":             "fake-hash",
			}
		}
		if v.CallbackID != "" {
			view["callback_id"] = v.CallbackID
		}
		if v.PrivateMetadata != "" {
			view["private_metadata"] = v.PrivateMetadata
		}
		view["state"] = map[string]any{"values": stateValues(v.Values)}
		return map[string]any{
			"type":                  "view_submission",
			"token":                 VerificationToken,
			"api_app_id":            AppID,
			"team":                  map[string]any{"id": TeamID, "domain": "fake"},
			"user":                  s.userObjectLocked(v.UserID),
			"trigger_id":            s.newTriggerLocked(v.UserID),
			"view":                  view,
			"response_urls":         []any{},
			"is_enterprise_install": false,
		}
	})
}

// stateValues renders view state values the way Slack does.
func stateValues(values map[string]map[string]Value) map[string]any {
	out := map[string]any{}
	for blockID, actions := range values {
		block := map[string]any{}
		for actionID, val := range actions {
			typ := val.Type
			if typ == "" {
				typ = "plain_text_input"
			}
			el := map[string]any{"type": typ}
			selects := strings.HasSuffix(typ, "_select") || typ == "radio_buttons"
			switch {
			case val.SelectedOption != "":
				el["selected_option"] = map[string]any{
					"text":  map[string]any{"type": "plain_text", "text": val.SelectedOption, "emoji": true},
					"value": val.SelectedOption,
				}
			case selects:
				el["selected_option"] = nil
			}
			if !selects || val.Value != "" {
				if val.Value == "" {
					el["value"] = nil
				} else {
					el["value"] = val.Value
				}
			}
			block[actionID] = el
		}
		out[blockID] = block
	}
	return out
}

// messageObject renders a stored message as Slack's message object.
func messageObject(m Message) map[string]any {
	obj := map[string]any{
		"type": "message",
		"ts":   m.TS,
		"text": m.Text,
		"team": TeamID,
	}
	if m.Ephemeral {
		obj["user"] = BotUserID
	} else {
		obj["user"] = m.User
	}
	if obj["user"] == BotUserID {
		obj["bot_id"] = BotID
		obj["app_id"] = AppID
	}
	if m.ThreadTS != "" {
		obj["thread_ts"] = m.ThreadTS
	}
	if len(m.Blocks) > 0 {
		obj["blocks"] = m.Blocks
	}
	return obj
}
