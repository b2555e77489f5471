// Package reply renders the typed results of commands as plain text with `code` spans,
// readable in a terminal and in chat alike: the console prints it, the HTTP API puts it in
// its "message" fields, and chat adapters use it where they need text. Rendering is a pure
// function of the result; nothing here decides anything.
package reply
