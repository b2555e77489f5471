package githubfake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// This file holds the JSON shapes GitHub sends and the helpers to write them.

// timeLayout is how GitHub writes timestamps (ISO 8601, UTC, seconds).
const timeLayout = "2006-01-02T15:04:05Z"

func ghTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// writeJSON writes v as the JSON body of an answer with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"message":"githubfake: cannot encode answer: ` + strings.ReplaceAll(err.Error(), `"`, `'`) + `"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// nodeID makes a node id in GitHub's legacy format, the base64 encoding of
// "0<len(type)>:<type><id>".
func nodeID(typ, id string) string {
	return base64.StdEncoding.EncodeToString([]byte("0" + strconv.Itoa(len(typ)) + ":" + typ + id))
}

// userJSON is GitHub's "simple user" object.
type userJSON struct {
	Login     string `json:"login"`
	ID        int64  `json:"id"`
	NodeID    string `json:"node_id"`
	AvatarURL string `json:"avatar_url"`
	URL       string `json:"url"`
	HTMLURL   string `json:"html_url"`
	Type      string `json:"type"`
	SiteAdmin bool   `json:"site_admin"`
}

// gitActorJSON is the author or committer of a git commit.
type gitActorJSON struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Date  string `json:"date"`
}

type treeJSON struct {
	SHA string `json:"sha"`
	URL string `json:"url"`
}

type verificationJSON struct {
	Verified  bool    `json:"verified"`
	Reason    string  `json:"reason"`
	Signature *string `json:"signature"`
	Payload   *string `json:"payload"`
}

// gitCommitJSON is the "commit" member of a commit object.
type gitCommitJSON struct {
	Author       gitActorJSON     `json:"author"`
	Committer    gitActorJSON     `json:"committer"`
	Message      string           `json:"message"`
	Tree         treeJSON         `json:"tree"`
	URL          string           `json:"url"`
	CommentCount int              `json:"comment_count"`
	Verification verificationJSON `json:"verification"`
}

type parentJSON struct {
	SHA     string `json:"sha"`
	URL     string `json:"url"`
	HTMLURL string `json:"html_url"`
}

// commitJSON is GitHub's commit object.
type commitJSON struct {
	SHA         string        `json:"sha"`
	NodeID      string        `json:"node_id"`
	Commit      gitCommitJSON `json:"commit"`
	URL         string        `json:"url"`
	HTMLURL     string        `json:"html_url"`
	CommentsURL string        `json:"comments_url"`
	Author      *userJSON     `json:"author"`
	Committer   *userJSON     `json:"committer"`
	Parents     []parentJSON  `json:"parents"`
}

// compareJSON is the answer of "compare two commits".
type compareJSON struct {
	URL             string       `json:"url"`
	HTMLURL         string       `json:"html_url"`
	PermalinkURL    string       `json:"permalink_url"`
	DiffURL         string       `json:"diff_url"`
	PatchURL        string       `json:"patch_url"`
	BaseCommit      commitJSON   `json:"base_commit"`
	MergeBaseCommit commitJSON   `json:"merge_base_commit"`
	Status          string       `json:"status"`
	AheadBy         int          `json:"ahead_by"`
	BehindBy        int          `json:"behind_by"`
	TotalCommits    int          `json:"total_commits"`
	Commits         []commitJSON `json:"commits"`
	Files           []struct{}   `json:"files"`
}

type branchJSON struct {
	Label string   `json:"label"`
	Ref   string   `json:"ref"`
	SHA   string   `json:"sha"`
	User  userJSON `json:"user"`
}

// pullJSON is GitHub's pull request object as listed.
type pullJSON struct {
	URL               string     `json:"url"`
	ID                int64      `json:"id"`
	NodeID            string     `json:"node_id"`
	HTMLURL           string     `json:"html_url"`
	DiffURL           string     `json:"diff_url"`
	PatchURL          string     `json:"patch_url"`
	IssueURL          string     `json:"issue_url"`
	Number            int        `json:"number"`
	State             string     `json:"state"`
	Locked            bool       `json:"locked"`
	Title             string     `json:"title"`
	User              userJSON   `json:"user"`
	Body              *string    `json:"body"`
	CreatedAt         string     `json:"created_at"`
	UpdatedAt         string     `json:"updated_at"`
	ClosedAt          string     `json:"closed_at"`
	MergedAt          string     `json:"merged_at"`
	MergeCommitSHA    string     `json:"merge_commit_sha"`
	Draft             bool       `json:"draft"`
	Head              branchJSON `json:"head"`
	Base              branchJSON `json:"base"`
	AuthorAssociation string     `json:"author_association"`
}

// deploymentJSON is GitHub's deployment object.
type deploymentJSON struct {
	URL                   string          `json:"url"`
	ID                    int64           `json:"id"`
	NodeID                string          `json:"node_id"`
	SHA                   string          `json:"sha"`
	Ref                   string          `json:"ref"`
	Task                  string          `json:"task"`
	Payload               json.RawMessage `json:"payload"`
	OriginalEnvironment   string          `json:"original_environment"`
	Environment           string          `json:"environment"`
	Description           string          `json:"description"`
	Creator               userJSON        `json:"creator"`
	CreatedAt             string          `json:"created_at"`
	UpdatedAt             string          `json:"updated_at"`
	StatusesURL           string          `json:"statuses_url"`
	RepositoryURL         string          `json:"repository_url"`
	TransientEnvironment  bool            `json:"transient_environment"`
	ProductionEnvironment bool            `json:"production_environment"`
}

// statusJSON is GitHub's deployment status object.
type statusJSON struct {
	URL            string   `json:"url"`
	ID             int64    `json:"id"`
	NodeID         string   `json:"node_id"`
	State          string   `json:"state"`
	Creator        userJSON `json:"creator"`
	Description    string   `json:"description"`
	Environment    string   `json:"environment"`
	TargetURL      string   `json:"target_url"`
	LogURL         string   `json:"log_url"`
	EnvironmentURL string   `json:"environment_url"`
	CreatedAt      string   `json:"created_at"`
	UpdatedAt      string   `json:"updated_at"`
	DeploymentURL  string   `json:"deployment_url"`
	RepositoryURL  string   `json:"repository_url"`
}

// botLogin is the login of the user the token belongs to.
const botLogin = "kuberpult[bot]"

// botUser is the creator of deployments and statuses: the app the token
// belongs to. Its id is 1, matching the rate limit message.
func (s *Server) botUser() userJSON {
	return userJSON{
		Login:     botLogin,
		ID:        1,
		NodeID:    nodeID("Bot", "1"),
		AvatarURL: "https://avatars.githubusercontent.com/in/1?v=4",
		URL:       s.base + apiPrefix + "/users/" + url.PathEscape(botLogin),
		HTMLURL:   webBase + "/apps/kuberpult",
		Type:      "Bot",
	}
}

// orgUser is the owner of the repository, as an organization.
func (s *Server) orgUser() userJSON {
	return userJSON{
		Login:     s.owner,
		ID:        2,
		NodeID:    nodeID("Organization", "2"),
		AvatarURL: "https://avatars.githubusercontent.com/u/2?v=4",
		URL:       s.base + apiPrefix + "/users/" + url.PathEscape(s.owner),
		HTMLURL:   webBase + "/" + url.PathEscape(s.owner),
		Type:      "Organization",
	}
}

// user returns the user object of login. s.mu must be held.
func (s *Server) user(login string) userJSON {
	id := s.userID(login)
	return userJSON{
		Login:     login,
		ID:        id,
		NodeID:    nodeID("User", strconv.FormatInt(id, 10)),
		AvatarURL: "https://avatars.githubusercontent.com/u/" + strconv.FormatInt(id, 10) + "?v=4",
		URL:       s.base + apiPrefix + "/users/" + url.PathEscape(login),
		HTMLURL:   webBase + "/" + url.PathEscape(login),
		Type:      "User",
	}
}

// userID returns the stable id of login, assigning one on first use. s.mu
// must be held.
func (s *Server) userID(login string) int64 {
	if id, ok := s.userIDs[login]; ok {
		return id
	}
	id := s.nextUser
	s.nextUser++
	s.userIDs[login] = id
	return id
}

// repoAPI is the API URL of the repository.
func (s *Server) repoAPI() string {
	return s.base + apiPrefix + "/repos/" + s.owner + "/" + s.name
}

// repoWeb is the html URL of the repository.
func (s *Server) repoWeb() string {
	return webBase + "/" + s.owner + "/" + s.name
}

// pageParams reads GitHub's page and per_page query parameters.
func pageParams(q url.Values, defPer, maxPer int) (page, per int) {
	page, per = 1, defPer
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		per = min(v, maxPer)
	}
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
		page = v
	}
	return page, per
}

// pageBounds returns the slice [lo:hi) of n items shown on page, and the
// number of the last page.
func pageBounds(n, page, per int) (lo, hi, last int) {
	last = max(1, (n+per-1)/per)
	if page-1 >= (n+per-1)/per {
		return n, n, last
	}
	lo = (page - 1) * per
	return lo, min(lo+per, n), last
}

// linkHeader makes GitHub's Link header for page of last pages of the
// request r; it is "" when there is a single page.
func (s *Server) linkHeader(r *http.Request, page, last int) string {
	if page == 1 && last == 1 {
		return ""
	}
	at := func(p int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		return "<" + s.base + r.URL.EscapedPath() + "?" + q.Encode() + ">"
	}
	var links []string
	if page > 1 {
		links = append(links, at(min(page-1, last))+`; rel="prev"`)
	}
	if page < last {
		links = append(links, at(page+1)+`; rel="next"`, at(last)+`; rel="last"`)
	}
	if page > 1 {
		links = append(links, at(1)+`; rel="first"`)
	}
	return strings.Join(links, ", ")
}

// withLink returns rep with the Link header set, if there is one.
func withLink(rep reply, link string) reply {
	if link != "" {
		rep.header = http.Header{"Link": {link}}
	}
	return rep
}
