package githubfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Deployment is a deployment the fake has recorded, as returned by
// [Server.Deployments].
type Deployment struct {
	// ID is the deployment id, counting from 1 in creation order.
	ID int64
	// Ref is the ref as sent; SHA the full SHA it resolved to.
	Ref, SHA string
	// Environment is the deployment's environment ("production" unless
	// sent); a status that names another environment moves the deployment
	// there, as on GitHub.
	Environment string
	// Description is the description as sent.
	Description string
	// Payload is the payload object as sent ({} when none was sent). A
	// payload sent as a string holding a JSON object is decoded; for any
	// other string Payload is nil (the string is echoed in the answer).
	Payload map[string]any
	// AutoMerge is auto_merge as sent (GitHub's default, true, when absent).
	AutoMerge bool
	// RequiredContexts is required_contexts as sent (nil when absent).
	RequiredContexts []string
	// ProductionEnvironment and TransientEnvironment are as sent, with
	// GitHub's defaults: production is true exactly when the environment is
	// "production", transient is false.
	ProductionEnvironment, TransientEnvironment bool
	// Statuses are the deployment's statuses, oldest first, including the
	// inactive ones the fake added by GitHub's auto_inactive rule (nil when
	// there are none).
	Statuses []Status
}

// Status is a deployment status the fake has recorded.
type Status struct {
	// State is one of error, failure, inactive, in_progress, queued,
	// pending and success.
	State string
	// Description, LogURL and EnvironmentURL are as sent. LogURL falls back
	// to target_url when only that was sent.
	Description, LogURL, EnvironmentURL string
	// AutoInactive is auto_inactive as sent; nil when it was not sent, and
	// for the inactive statuses the fake added by itself.
	AutoInactive *bool
}

// deploymentRec is a recorded deployment with what only the wire needs.
type deploymentRec struct {
	d                   Deployment
	task                string
	originalEnvironment string
	payloadRaw          json.RawMessage // answered as payload
	created, updated    time.Time
	statuses            []statusRec // parallel to d.Statuses
}

// statusRec is the wire part of a recorded status.
type statusRec struct {
	id          int64
	environment string
	created     time.Time
}

// Deployments returns deep copies of the recorded deployments in creation
// order.
func (s *Server) Deployments() []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Deployment, 0, len(s.deployments))
	for _, rec := range s.deployments {
		d := rec.d
		d.Payload = copyJSONObject(d.Payload)
		if d.RequiredContexts != nil {
			d.RequiredContexts = slices.Clone(d.RequiredContexts)
		}
		d.Statuses = nil
		for _, st := range rec.d.Statuses {
			if st.AutoInactive != nil {
				v := *st.AutoInactive
				st.AutoInactive = &v
			}
			d.Statuses = append(d.Statuses, st)
		}
		out = append(out, d)
	}
	return out
}

// copyJSONObject deep-copies a decoded JSON object.
func copyJSONObject(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyJSONValue(v)
	}
	return out
}

func copyJSONValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return copyJSONObject(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyJSONValue(e)
		}
		return out
	default: // string, float64, json.Number, bool, nil
		return v
	}
}

// decodeBody decodes a JSON request body into v, answering as GitHub does:
// 400 "Problems parsing JSON" for malformed JSON (or a body that is not an
// object), 422 for a member of the wrong type.
func decodeBody(body []byte, v any, docs string) (reply, bool) {
	err := json.Unmarshal(body, v)
	if err == nil {
		return reply{}, true
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return errReply(http.StatusUnprocessableEntity,
			"Invalid request.\n\nFor 'properties/"+te.Field+"', a JSON "+te.Value+" is not allowed.", docs), false
	}
	return errReply(http.StatusBadRequest, "Problems parsing JSON", docsURL), false
}

// createDeploymentRequest is the body of "create a deployment".
type createDeploymentRequest struct {
	Ref                   *string         `json:"ref"`
	Task                  *string         `json:"task"`
	AutoMerge             *bool           `json:"auto_merge"`
	RequiredContexts      *[]string       `json:"required_contexts"`
	Payload               json.RawMessage `json:"payload"`
	Environment           *string         `json:"environment"`
	Description           *string         `json:"description"`
	TransientEnvironment  *bool           `json:"transient_environment"`
	ProductionEnvironment *bool           `json:"production_environment"`
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// createDeployment answers POST /repos/{owner}/{repo}/deployments. s.mu must
// be held.
func (s *Server) createDeployment(body []byte) reply {
	const docs = "https://docs.github.com/rest/deployments/deployments#create-a-deployment"
	var req createDeploymentRequest
	if rep, ok := decodeBody(body, &req, docs); !ok {
		return rep
	}
	if req.Ref == nil || *req.Ref == "" {
		return errReply(http.StatusUnprocessableEntity, "Invalid request.\n\n\"ref\" wasn't supplied.", docs)
	}
	ref := *req.Ref
	i, ok := s.resolve(ref)
	if !ok {
		return errReply(http.StatusUnprocessableEntity, "No ref found for: "+ref, docs)
	}

	payload := map[string]any{}
	payloadRaw := json.RawMessage(`{}`)
	switch raw := bytes.TrimSpace(req.Payload); {
	case len(raw) == 0 || string(raw) == "null":
	case raw[0] == '{':
		if err := json.Unmarshal(raw, &payload); err != nil {
			return errReply(http.StatusBadRequest, "Problems parsing JSON", docsURL)
		}
		payloadRaw = compactJSON(raw)
	case raw[0] == '"':
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return errReply(http.StatusBadRequest, "Problems parsing JSON", docsURL)
		}
		payload = nil
		if obj := map[string]any{}; json.Unmarshal([]byte(str), &obj) == nil {
			payload = obj
		}
		payloadRaw = compactJSON(raw)
	default:
		return errReply(http.StatusUnprocessableEntity,
			"Invalid request.\n\nFor 'properties/payload', "+string(raw)+" is not an object or a string.", docs)
	}

	env := deref(req.Environment, "")
	if env == "" {
		env = "production"
	}
	var contexts []string
	if req.RequiredContexts != nil {
		contexts = append([]string{}, *req.RequiredContexts...)
	}
	task := deref(req.Task, "")
	if task == "" {
		task = "deploy"
	}
	now := time.Now().UTC().Truncate(time.Second)
	rec := &deploymentRec{
		d: Deployment{
			ID:                    int64(len(s.deployments) + 1),
			Ref:                   ref,
			SHA:                   s.commits[i].SHA,
			Environment:           env,
			Description:           deref(req.Description, ""),
			Payload:               payload,
			AutoMerge:             deref(req.AutoMerge, true),
			RequiredContexts:      contexts,
			ProductionEnvironment: deref(req.ProductionEnvironment, env == "production"),
			TransientEnvironment:  deref(req.TransientEnvironment, false),
		},
		task:                task,
		originalEnvironment: env,
		payloadRaw:          payloadRaw,
		created:             now,
		updated:             now,
	}
	s.deployments = append(s.deployments, rec)
	return reply{status: http.StatusCreated, body: s.deploymentJSON(rec)}
}

func compactJSON(raw []byte) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return json.RawMessage(raw)
	}
	return buf.Bytes()
}

func (s *Server) deploymentURL(id int64) string {
	return s.repoAPI() + "/deployments/" + strconv.FormatInt(id, 10)
}

// deploymentJSON renders a deployment. s.mu must be held.
func (s *Server) deploymentJSON(rec *deploymentRec) deploymentJSON {
	id := strconv.FormatInt(rec.d.ID, 10)
	return deploymentJSON{
		URL:                   s.deploymentURL(rec.d.ID),
		ID:                    rec.d.ID,
		NodeID:                nodeID("Deployment", id),
		SHA:                   rec.d.SHA,
		Ref:                   rec.d.Ref,
		Task:                  rec.task,
		Payload:               rec.payloadRaw,
		OriginalEnvironment:   rec.originalEnvironment,
		Environment:           rec.d.Environment,
		Description:           rec.d.Description,
		Creator:               s.botUser(),
		CreatedAt:             ghTime(rec.created),
		UpdatedAt:             ghTime(rec.updated),
		StatusesURL:           s.deploymentURL(rec.d.ID) + "/statuses",
		RepositoryURL:         s.repoAPI(),
		TransientEnvironment:  rec.d.TransientEnvironment,
		ProductionEnvironment: rec.d.ProductionEnvironment,
	}
}

// statusJSON renders status i of a deployment. s.mu must be held.
func (s *Server) statusJSON(rec *deploymentRec, i int) statusJSON {
	st, meta := rec.d.Statuses[i], rec.statuses[i]
	return statusJSON{
		URL:            s.deploymentURL(rec.d.ID) + "/statuses/" + strconv.FormatInt(meta.id, 10),
		ID:             meta.id,
		NodeID:         nodeID("DeploymentStatus", strconv.FormatInt(meta.id, 10)),
		State:          st.State,
		Creator:        s.botUser(),
		Description:    st.Description,
		Environment:    meta.environment,
		TargetURL:      st.LogURL,
		LogURL:         st.LogURL,
		EnvironmentURL: st.EnvironmentURL,
		CreatedAt:      ghTime(meta.created),
		UpdatedAt:      ghTime(meta.created),
		DeploymentURL:  s.deploymentURL(rec.d.ID),
		RepositoryURL:  s.repoAPI(),
	}
}

// deployment finds a deployment by the id in a path. s.mu must be held.
func (s *Server) deployment(id string) (*deploymentRec, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 1 || n > int64(len(s.deployments)) || strconv.FormatInt(n, 10) != id {
		return nil, false
	}
	return s.deployments[n-1], true
}

// validStates are the states a deployment status may have, in the order
// GitHub's documentation lists them.
var validStates = []string{"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}

// createStatusRequest is the body of "create a deployment status".
type createStatusRequest struct {
	State          *string `json:"state"`
	TargetURL      *string `json:"target_url"`
	LogURL         *string `json:"log_url"`
	Description    *string `json:"description"`
	Environment    *string `json:"environment"`
	EnvironmentURL *string `json:"environment_url"`
	AutoInactive   *bool   `json:"auto_inactive"`
}

// addStatus appends a status to rec. s.mu must be held.
func (s *Server) addStatus(rec *deploymentRec, st Status, now time.Time) int {
	s.nextStatusID++
	rec.d.Statuses = append(rec.d.Statuses, st)
	rec.statuses = append(rec.statuses, statusRec{id: s.nextStatusID, environment: rec.d.Environment, created: now})
	rec.updated = now
	return len(rec.d.Statuses) - 1
}

// createStatus answers POST /repos/{owner}/{repo}/deployments/{id}/statuses.
// s.mu must be held.
//
// It mimics GitHub's auto_inactive: a success status whose auto_inactive is
// not false "adds a new inactive status to all prior non-transient,
// non-production environment deployments with the same repository and
// environment name as the created status's deployment", but only to those
// whose latest status is success. "Prior" means created before the
// deployment the new status belongs to.
func (s *Server) createStatus(id string, body []byte) reply {
	const docs = "https://docs.github.com/rest/deployments/statuses#create-a-deployment-status"
	rec, ok := s.deployment(id)
	if !ok {
		return notFound(docs)
	}
	var req createStatusRequest
	if rep, ok := decodeBody(body, &req, docs); !ok {
		return rep
	}
	state := deref(req.State, "")
	if !slices.Contains(validStates, state) {
		quoted := make([]string, len(validStates))
		for i, v := range validStates {
			quoted[i] = strconv.Quote(v)
		}
		what := strconv.Quote(state)
		if req.State == nil {
			what = "no state"
		}
		return errReply(http.StatusUnprocessableEntity,
			"Invalid request.\n\nFor 'properties/state', "+what+" is not one of ["+strings.Join(quoted, ", ")+"].", docs)
	}
	logURL := deref(req.LogURL, "")
	if logURL == "" {
		logURL = deref(req.TargetURL, "")
	}
	if env := deref(req.Environment, ""); env != "" {
		rec.d.Environment = env
	}
	now := time.Now().UTC().Truncate(time.Second)
	var autoInactive *bool
	if req.AutoInactive != nil {
		v := *req.AutoInactive
		autoInactive = &v
	}
	i := s.addStatus(rec, Status{
		State:          state,
		Description:    deref(req.Description, ""),
		LogURL:         logURL,
		EnvironmentURL: deref(req.EnvironmentURL, ""),
		AutoInactive:   autoInactive,
	}, now)
	answer := s.statusJSON(rec, i)

	if state == "success" && deref(req.AutoInactive, true) {
		for _, other := range s.deployments {
			if other.d.ID >= rec.d.ID {
				break // only prior deployments
			}
			if other.d.Environment != rec.d.Environment || other.d.TransientEnvironment || other.d.ProductionEnvironment {
				continue
			}
			if n := len(other.d.Statuses); n == 0 || other.d.Statuses[n-1].State != "success" {
				continue
			}
			s.addStatus(other, Status{State: "inactive"}, now)
		}
	}
	return reply{status: http.StatusCreated, body: answer}
}

// listStatuses answers GET /repos/{owner}/{repo}/deployments/{id}/statuses,
// newest first. s.mu must be held.
func (s *Server) listStatuses(r *http.Request, id string) reply {
	rec, ok := s.deployment(id)
	if !ok {
		return notFound("https://docs.github.com/rest/deployments/statuses#list-deployment-statuses")
	}
	page, per := pageParams(r.URL.Query(), 30, 100)
	n := len(rec.d.Statuses)
	lo, hi, last := pageBounds(n, page, per)
	list := make([]statusJSON, 0, hi-lo)
	for k := lo; k < hi; k++ {
		list = append(list, s.statusJSON(rec, n-1-k))
	}
	return withLink(reply{status: http.StatusOK, body: list}, s.linkHeader(r, page, last))
}

// listDeployments answers GET …/deployments, newest first, filtered as GitHub does by the
// query parameters sha, ref, task and environment. s.mu must be held.
func (s *Server) listDeployments(r *http.Request) reply {
	q := r.URL.Query()
	var match []*deploymentRec
	for i := len(s.deployments) - 1; i >= 0; i-- {
		rec := s.deployments[i]
		if sha := q.Get("sha"); sha != "" && !strings.EqualFold(sha, rec.d.SHA) {
			continue
		}
		if ref := q.Get("ref"); ref != "" && ref != rec.d.Ref {
			continue
		}
		if task := q.Get("task"); task != "" && task != rec.task {
			continue
		}
		if env := q.Get("environment"); env != "" && env != rec.d.Environment {
			continue
		}
		match = append(match, rec)
	}
	page, per := pageParams(q, 30, 100)
	lo, hi, last := pageBounds(len(match), page, per)
	list := make([]deploymentJSON, 0, hi-lo)
	for _, rec := range match[lo:hi] {
		list = append(list, s.deploymentJSON(rec))
	}
	return withLink(reply{status: http.StatusOK, body: list}, s.linkHeader(r, page, last))
}
