// Package bot is the Slack adapter: it connects over Socket Mode, turns slash commands,
// mentions, button clicks and modal submissions into requests for the commands Handler (with
// the Slack user as the actor and an idempotency key per envelope or click), and renders the
// typed results as Block Kit: ephemeral answers for queries and errors, and for actions a
// status card in the channel that becomes the root of a thread and is updated in place when
// the change is pushed. It is the only package that imports slack-go.
package bot
