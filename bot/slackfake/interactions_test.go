package slackfake_test

import (
	"encoding/json"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"kuberpult/bot/slackfake"
)

// text is a plain text object.
func text(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// modal is a modal with one text input and one static select.
func modal(callbackID string) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           text("Approve"),
		Submit:          text("Go"),
		CallbackID:      callbackID,
		PrivateMetadata: "pm-1",
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("reason", text("Reason"), nil, slack.NewPlainTextInputBlockElement(nil, "text")),
			slack.NewInputBlock("env", text("Environment"), nil, slack.NewOptionsSelectBlockElement(
				slack.OptTypeStatic, nil, "pick",
				slack.NewOptionBlockObject("prod", text("prod"), nil),
				slack.NewOptionBlockObject("dev", text("dev"), nil))),
		}},
	}
}

func TestBlockActionsAndViews(t *testing.T) {
	t.Parallel()
	s := slackfake.New(t)
	s.AddUser(slackfake.User{ID: "U1", Name: "alice"})
	b := startBot(t, s, slackfake.AppToken)
	s.WaitConnected(t, 1)

	// A message with a button, clicked by U1.
	ch, ts, err := b.api.PostMessage("C1", slack.MsgOptionText("deploy?", false), slack.MsgOptionBlocks(
		slack.NewSectionBlock(text("Deploy app?"), nil, nil),
		slack.NewActionBlock("buttons", slack.NewButtonBlockElement("approve", "v1", text("Approve")))))
	if err != nil {
		t.Fatal(err)
	}
	id := s.BlockAction(slackfake.BlockAction{UserID: "U1", ChannelID: ch, MessageTS: ts, ActionID: "approve", BlockID: "buttons", Value: "v1"})
	ev := b.next(socketmode.EventTypeInteractive)
	cb := ev.Data.(slack.InteractionCallback)
	if cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != "U1" || cb.User.Name != "alice" ||
		cb.Channel.ID != "C1" || cb.Container.Type != "message" || cb.Container.MessageTs != ts ||
		cb.Message.Timestamp != ts || len(cb.Message.Blocks.BlockSet) != 2 || cb.TriggerID == "" || cb.ResponseURL == "" {
		t.Errorf("callback = %+v", cb)
	}
	if acts := cb.ActionCallback.BlockActions; len(acts) != 1 || acts[0].ActionID != "approve" || acts[0].BlockID != "buttons" ||
		acts[0].Value != "v1" || acts[0].Type != "button" {
		t.Errorf("actions = %+v", acts)
	}
	b.ack(ev)
	s.WaitAck(t, id)

	// The trigger opens a modal, which belongs to U1.
	opened, err := b.api.OpenView(cb.TriggerID, modal("approve-modal"))
	if err != nil {
		t.Fatal(err)
	}
	views := s.Views("U1")
	if len(views) != 1 || views[0].ID != opened.ID || views[0].Type != "modal" || views[0].CallbackID != "approve-modal" ||
		views[0].PrivateMetadata != "pm-1" {
		t.Fatalf("views = %+v", views)
	}

	id = s.ViewSubmission(slackfake.ViewSubmission{UserID: "U1", ViewID: opened.ID, Values: map[string]map[string]slackfake.Value{
		"reason": {"text": {Value: "because"}},
		"env":    {"pick": {Type: "static_select", SelectedOption: "prod"}},
	}})
	ev = b.next(socketmode.EventTypeInteractive)
	cb = ev.Data.(slack.InteractionCallback)
	if cb.Type != slack.InteractionTypeViewSubmission || cb.View.ID != opened.ID || cb.View.CallbackID != "approve-modal" ||
		cb.View.PrivateMetadata != "pm-1" || len(cb.View.Blocks.BlockSet) != 2 || !ev.Request.AcceptsResponsePayload {
		t.Errorf("submission = %+v", cb)
	}
	if cb.View.State == nil {
		t.Fatal("no view state")
	}
	if v := cb.View.State.Values["reason"]["text"]; v.Type != "plain_text_input" || v.Value != "because" {
		t.Errorf("reason = %+v", v)
	}
	if v := cb.View.State.Values["env"]["pick"]; v.Type != "static_select" || v.SelectedOption.Value != "prod" {
		t.Errorf("env = %+v", v)
	}
	b.ack(ev, slack.NewErrorsViewSubmissionResponse(map[string]string{"reason": "too short"}))
	jsonEqual(t, s.WaitAck(t, id).Payload, `{"response_action":"errors","errors":{"reason":"too short"}}`)

	// views.update replaces the modal in place.
	if _, err := b.api.UpdateView(modal("second"), "", "", opened.ID); err != nil {
		t.Fatal(err)
	}
	if views := s.Views("U1"); len(views) != 1 || views[0].CallbackID != "second" {
		t.Errorf("views after update = %+v", views)
	}
	if _, err := b.api.UpdateView(modal("x"), "", "", "V-unknown"); err == nil || err.Error() != "not_found" {
		t.Errorf("update of unknown view: %v", err)
	}

	// The App Home: published, sent along with app_home_opened, clickable.
	home, err := b.api.PublishView("U1", slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{
		slack.NewActionBlock("home", slack.NewButtonBlockElement("refresh", "r", text("Refresh"))),
	}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	s.AppHomeOpened("U1")
	ev = b.next(socketmode.EventTypeEventsAPI)
	opened2 := ev.Data.(slackevents.EventsAPIEvent).InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if opened2.View == nil || opened2.View.ID != home.ID {
		t.Errorf("app_home_opened view = %+v", opened2.View)
	}
	b.ack(ev)
	s.BlockAction(slackfake.BlockAction{UserID: "U1", ViewID: home.ID, ActionID: "refresh", BlockID: "home", Value: "r"})
	ev = b.next(socketmode.EventTypeInteractive)
	cb = ev.Data.(slack.InteractionCallback)
	if cb.Container.Type != "view" || cb.Container.ViewID != home.ID || cb.View.ID != home.ID || cb.View.Type != slack.VTHomeTab {
		t.Errorf("home click = %+v", cb)
	}
	b.ack(ev)
	if views := s.Views("U1"); len(views) != 2 || views[1].Type != "home" {
		t.Errorf("views = %+v", views)
	}
}

func TestViewsOpenRecordsJSONParams(t *testing.T) {
	t.Parallel()
	s := slackfake.New(t)
	api := newAPI(s, slackfake.BotToken, slackfake.AppToken)
	if _, err := api.OpenView("trigger-from-test", modal("cb")); err != nil {
		t.Fatal(err)
	}
	call := s.WaitCall(t, "views.open", nil)
	if call.Params["trigger_id"] != "trigger-from-test" || call.Body == nil || call.Status != 200 {
		t.Errorf("call = %+v", call)
	}
	var view map[string]any
	if err := json.Unmarshal([]byte(call.Params["view"]), &view); err != nil || view["callback_id"] != "cb" {
		t.Errorf("view param = %s (%v)", call.Params["view"], err)
	}
	if views := s.Views(""); len(views) != 1 {
		t.Errorf("views of unknown trigger user = %+v", views)
	}
}
