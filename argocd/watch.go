package argocd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Watch follows the applications whose labels match selector (empty for all) on Argo CD's
// watch stream and calls fn with each event, in order, on the goroutine that called
// Watch. Argo CD first sends an Added event per matching application, then their changes.
//
// Watch returns when ctx ends (with ctx's error) or when the stream ends: with
// ErrStreamEnded (and the cause, if the connection broke) when it was closed or cut, or
// with the *APIError Argo CD sent. Watching again is always right.
//
// A watch has no timeout of its own: Argo CD answers the request only with the first
// event, which may take long when no application matches yet.
func (c *Client) Watch(ctx context.Context, selector string, fn func(Event)) error {
	fail := func(err error) error {
		return fmt.Errorf("argocd: watch applications%s: %w", describe(selector), err)
	}
	q := url.Values{}
	if selector != "" {
		q.Set("selector", selector)
	}
	ctx, cancel := context.WithCancel(ctx) // also closes the stream when fn panics
	defer cancel()
	resp, err := c.do(ctx, "/api/v1/stream/applications", q)
	if err != nil {
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		return fail(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail(c.errorOf(resp))
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var chunk struct {
			Result *Event       `json:"result"`
			Error  *streamError `json:"error"`
		}
		if err := dec.Decode(&chunk); err != nil {
			switch {
			case ctx.Err() != nil:
				return fail(ctx.Err())
			case errors.Is(err, io.EOF):
				return fail(ErrStreamEnded)
			}
			return fail(fmt.Errorf("%w: %w", ErrStreamEnded, err))
		}
		switch {
		case chunk.Error != nil:
			e := chunk.Error.apiError()
			e.Message = redact(e.Message, c.token)
			return fail(e)
		case chunk.Result != nil:
			fn(*chunk.Result)
		}
	}
}
