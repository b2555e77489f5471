package argocd_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/argocd"
	"kuberpult/argocd/argocdfake"
)

// watcher runs a Watch in the background and hands over its events and its end.
type watcher struct {
	t      *testing.T
	events chan argocd.Event
	done   chan error
	cancel context.CancelFunc
}

func startWatch(t *testing.T, c *argocd.Client, selector string) *watcher {
	ctx, cancel := context.WithCancel(t.Context())
	w := &watcher{t: t, events: make(chan argocd.Event), done: make(chan error, 1), cancel: cancel}
	go func() {
		w.done <- c.Watch(ctx, selector, func(ev argocd.Event) {
			select {
			case w.events <- ev:
			case <-ctx.Done():
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-w.done
	})
	return w
}

// guard bounds how long a test waits for something that should come at once.
const guard = 10 * time.Second

func (w *watcher) next() argocd.Event {
	w.t.Helper()
	select {
	case ev := <-w.events:
		return ev
	case err := <-w.done:
		w.t.Fatalf("watch ended: %v", err)
	case <-time.After(guard):
		w.t.Fatal("no event")
	}
	return argocd.Event{}
}

func (w *watcher) end() error {
	w.t.Helper()
	select {
	case ev := <-w.events:
		w.t.Fatalf("event %s %s, want the end of the watch", ev.Type, ev.Application.Metadata.Name)
	case err := <-w.done:
		w.done <- err // for the cleanup
		return err
	case <-time.After(guard):
		w.t.Fatal("watch did not end")
	}
	return nil
}

type event struct {
	Type   argocd.EventType
	Name   string
	Health argocd.HealthStatusCode
}

func brief(ev argocd.Event) event {
	return event{ev.Type, ev.Application.Metadata.Name, ev.Application.Status.Health.Status}
}

func TestWatch(t *testing.T) {
	fake := argocdfake.New(t)
	fake.Set(app("staging", "shop", "checkout", argocd.Progressing))
	fake.Set(app("staging", "search", "discovery", argocd.Healthy))
	fake.Set(app("staging", "cart", "checkout", argocd.Healthy))
	c := newClient(t, fake.URL(), argocd.Options{Token: fake.Token()})
	w := startWatch(t, c, "com.freiheit.kuberpult/team=checkout")

	var got []event
	// Two ADDED events: the stream is open now. The change of search is not selected.
	got = append(got, brief(w.next()), brief(w.next()))
	fake.Set(app("staging", "search", "discovery", argocd.Degraded))
	fake.Set(app("staging", "shop", "checkout", argocd.Healthy))
	fake.Set(app("staging", "basket", "checkout", argocd.Progressing))
	fake.Delete("staging-cart")
	for range 3 {
		got = append(got, brief(w.next()))
	}
	want := []event{
		{argocd.Added, "staging-cart", argocd.Healthy},
		{argocd.Added, "staging-shop", argocd.Progressing},
		{argocd.Modified, "staging-shop", argocd.Healthy},
		{argocd.Added, "staging-basket", argocd.Progressing},
		{argocd.Deleted, "staging-cart", argocd.Healthy},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	w.cancel()
	if err := w.end(); !errors.Is(err, context.Canceled) {
		t.Errorf("watch ended with %v, want context.Canceled", err)
	}
}

// TestWatchFromNothing: Argo CD answers a watch only with its first event; the client
// waits for it without a timeout.
func TestWatchFromNothing(t *testing.T) {
	fake := argocdfake.New(t)
	c := newClient(t, fake.URL(), argocd.Options{Token: fake.Token(), Timeout: time.Millisecond})
	w := startWatch(t, c, "")
	ctx, cancel := context.WithTimeout(t.Context(), guard)
	defer cancel()
	if err := fake.WaitForStreams(ctx, 1); err != nil {
		t.Fatal(err)
	}
	shop := app("staging", "shop", "checkout", argocd.Healthy)
	fake.Set(shop)
	if diff := cmp.Diff(argocd.Event{Type: argocd.Added, Application: shop}, w.next()); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
}

// TestWatchEnds: every way a stream ends is an error; ErrStreamEnded when it was closed
// or cut, the error Argo CD sent otherwise.
func TestWatchEnds(t *testing.T) {
	tests := []struct {
		name     string
		before   func(*argocdfake.Server) // before the watch starts
		cut      func(*argocdfake.Server) // after its first event
		is       error
		apiError *argocd.APIError
	}{
		{name: "connection cut mid-event", cut: (*argocdfake.Server).DropStreams, is: argocd.ErrStreamEnded},
		{name: "closed by the server", cut: (*argocdfake.Server).EndStreams, is: argocd.ErrStreamEnded},
		{
			name: "error object on the stream",
			cut: func(s *argocdfake.Server) {
				s.FailStreams(http.StatusServiceUnavailable, "the application controller is gone")
			},
			apiError: &argocd.APIError{Status: 503, Code: 14, Message: "the application controller is gone"},
		},
		{
			name:     "token refused",
			before:   func(s *argocdfake.Server) { s.SetToken("rotated") },
			is:       argocd.ErrUnauthorized,
			apiError: &argocd.APIError{Status: 401, Code: 16, Message: "invalid session: token signature is invalid"},
		},
		{
			name:     "server error before the first event",
			before:   func(s *argocdfake.Server) { s.FailNext(http.StatusInternalServerError, 1) },
			apiError: &argocd.APIError{Status: 500, Code: 2, Message: "argocdfake: injected failure (internal server error)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := argocdfake.New(t)
			fake.Set(app("staging", "shop", "checkout", argocd.Healthy))
			if tt.before != nil {
				tt.before(fake)
			}
			c := newClient(t, fake.URL(), argocd.Options{Token: argocdfake.DefaultToken})
			w := startWatch(t, c, "")
			if tt.cut != nil {
				w.next()
				tt.cut(fake)
			}
			err := w.end()
			t.Logf("watch ended: %v", err)
			if err == nil || errors.Is(err, context.Canceled) {
				t.Fatalf("watch ended with %v", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if tt.apiError != nil {
				var got *argocd.APIError
				if !errors.As(err, &got) {
					t.Fatalf("error %v is no *APIError", err)
				}
				if diff := cmp.Diff(tt.apiError, got); diff != "" {
					t.Errorf("APIError (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestWatchAgain: after a cut, watching again gets the current state as ADDED events.
func TestWatchAgain(t *testing.T) {
	fake := argocdfake.New(t)
	fake.Set(app("staging", "shop", "checkout", argocd.Progressing))
	c := newClient(t, fake.URL(), argocd.Options{Token: fake.Token()})
	w := startWatch(t, c, "")
	w.next()
	fake.DropStreams()
	if err := w.end(); !errors.Is(err, argocd.ErrStreamEnded) {
		t.Fatalf("watch ended with %v", err)
	}
	fake.Set(app("staging", "shop", "checkout", argocd.Healthy)) // while nobody watched
	w = startWatch(t, c, "")
	if diff := cmp.Diff(event{argocd.Added, "staging-shop", argocd.Healthy}, brief(w.next())); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
	if n := fake.Requests("/api/v1/stream/applications"); n != 2 {
		t.Errorf("%d watch requests, want 2", n)
	}
}
