package argocd

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

var (
	// ErrNotFound: the application does not exist (HTTP 404, gRPC code 5). Without a
	// project, Argo CD answers a missing application with 403 (ErrUnauthorized), so as not
	// to tell who may not see it whether it exists; see ApplicationInProject.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: the token is missing, invalid or expired (HTTP 401, gRPC code 16) or
	// may not do this (HTTP 403, gRPC code 7).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrStreamEnded: the watch stream ended (closed or cut) while its context had not;
	// watch again.
	ErrStreamEnded = errors.New("stream ended")
)

// gRPC status codes Argo CD's errors carry.
const (
	CodeNotFound         = 5
	CodePermissionDenied = 7
	CodeUnauthenticated  = 16
)

// APIError is an error answer of Argo CD: the HTTP status, the gRPC code and Argo CD's
// message. It matches ErrNotFound and ErrUnauthorized with errors.Is where it means them.
type APIError struct {
	Status  int    // HTTP status
	Code    int    // gRPC status code (0 when the answer did not say)
	Message string // Argo CD's message, or the start of a body that was not Argo CD's JSON
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = strings.ToLower(http.StatusText(e.Status))
	}
	if e.Code != 0 {
		return fmt.Sprintf("%s (HTTP %d, gRPC code %d)", msg, e.Status, e.Code)
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, e.Status)
}

// Is makes errors.Is(err, ErrNotFound) and errors.Is(err, ErrUnauthorized) work.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound || e.Code == CodeNotFound
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden ||
			e.Code == CodeUnauthenticated || e.Code == CodePermissionDenied
	}
	return false
}

// maxErrorBody is how much of an error answer is read.
const maxErrorBody = 64 << 10

// errorBody is the gRPC gateway's error answer: {"error":..,"code":..,"message":..}.
type errorBody struct {
	Error   string `json:"error"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// streamError is the gRPC gateway's error object on a stream: {"error":{...}}, also the
// body of a stream that fails before its first event.
type streamError struct {
	GRPCCode   int    `json:"grpc_code"`
	HTTPCode   int    `json:"http_code"`
	Message    string `json:"message"`
	HTTPStatus string `json:"http_status"`
}

func (s *streamError) apiError() *APIError {
	return &APIError{Status: s.HTTPCode, Code: s.GRPCCode, Message: s.Message}
}

// parseError makes an APIError of an error answer with the given status: Argo CD's JSON in
// either shape, or else the start of the body as text.
func parseError(status int, body []byte) *APIError {
	var unary errorBody
	if json.Unmarshal(body, &unary) == nil && (unary.Message != "" || unary.Error != "" || unary.Code != 0) {
		msg := unary.Message
		if msg == "" {
			msg = unary.Error
		}
		return &APIError{Status: status, Code: unary.Code, Message: msg}
	}
	var stream struct {
		Error *streamError `json:"error"`
	}
	if json.Unmarshal(body, &stream) == nil && stream.Error != nil {
		e := stream.Error.apiError()
		e.Status = status
		return e
	}
	text := strings.TrimSpace(string(body))
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	return &APIError{Status: status, Message: text}
}

// redact removes the token from a message a server sent back.
func redact(msg, token string) string {
	if token == "" {
		return msg
	}
	return strings.ReplaceAll(msg, token, "[redacted]")
}
