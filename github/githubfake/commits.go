package githubfake

import (
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Commit is a commit of the fake repository's linear history.
type Commit struct {
	// SHA is the commit id: 40 lowercase hexadecimal characters.
	SHA string
	// Message is the full commit message.
	Message string
	// AuthorName and AuthorEmail are the git author (also used as the
	// committer).
	AuthorName, AuthorEmail string
	// AuthorLogin is the GitHub user the author's email belongs to; "" means
	// it belongs to no GitHub user, and the commit's "author" (and
	// "committer") member is null.
	AuthorLogin string
	// Date is the author and committer date; the zero time means the time of
	// the AddCommit call.
	Date time.Time
}

// AddCommit adds c on top of the linear history; the first call makes the
// root commit, every later one a child of the previous one. It fails the test
// (t.Fatalf, so call it from the test's goroutine) when c.SHA is not 40
// lowercase hex characters or is already known.
func (s *Server) AddCommit(c Commit) {
	s.t.Helper()
	if !isFullSHA(c.SHA) {
		s.t.Fatalf("githubfake.AddCommit: sha %q is not 40 lowercase hex characters", c.SHA)
	}
	if c.Date.IsZero() {
		c.Date = time.Now()
	}
	c.Date = c.Date.UTC().Truncate(time.Second)
	s.mu.Lock()
	_, dup := s.bySHA[c.SHA]
	if !dup {
		s.bySHA[c.SHA] = len(s.commits)
		s.commits = append(s.commits, c)
		if c.AuthorLogin != "" {
			s.userID(c.AuthorLogin)
		}
		s.notify()
	}
	s.mu.Unlock()
	if dup {
		s.t.Fatalf("githubfake.AddCommit: sha %s added twice", c.SHA)
	}
}

// AddPull makes a merged (closed) pull request with the given number and
// title, opened by the GitHub user login, that contains the commits with the
// given SHAs (full SHAs; they need not have been added yet). Its head and
// merge commit are the last of shas. A commit may belong to several pull
// requests. A number may be used only once. Misuse fails the test
// (t.Fatalf, so call it from the test's goroutine).
func (s *Server) AddPull(number int, title, login string, shas ...string) {
	s.t.Helper()
	if number <= 0 {
		s.t.Fatalf("githubfake.AddPull: number %d is not positive", number)
	}
	if login == "" {
		s.t.Fatalf("githubfake.AddPull: pull request %d has no user login", number)
	}
	for _, sha := range shas {
		if !isFullSHA(sha) {
			s.t.Fatalf("githubfake.AddPull: sha %q is not 40 lowercase hex characters", sha)
		}
	}
	s.mu.Lock()
	dup := slices.ContainsFunc(s.pulls, func(p *pullRec) bool { return p.number == number })
	if !dup {
		s.pulls = append(s.pulls, &pullRec{
			number:  number,
			title:   title,
			login:   login,
			shas:    slices.Clone(shas),
			created: time.Now().UTC().Truncate(time.Second),
		})
		s.userID(login)
		s.notify()
	}
	s.mu.Unlock()
	if dup {
		s.t.Fatalf("githubfake.AddPull: pull request %d added twice", number)
	}
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func isFullSHA(s string) bool { return len(s) == 40 && isHex(s) }

// resolve finds the commit a full SHA or an unambiguous prefix of at least 7
// characters names. s.mu must be held.
func (s *Server) resolve(ref string) (int, bool) {
	if i, ok := s.bySHA[ref]; ok {
		return i, true
	}
	if len(ref) < 7 || len(ref) > 40 || !isHex(ref) {
		return 0, false
	}
	found := -1
	for i, c := range s.commits {
		if strings.HasPrefix(c.SHA, ref) {
			if found >= 0 {
				return 0, false // ambiguous
			}
			found = i
		}
	}
	return found, found >= 0
}

// commitJSON renders the commit at index i. s.mu must be held.
func (s *Server) commitJSON(i int) commitJSON {
	c := s.commits[i]
	actor := gitActorJSON{Name: c.AuthorName, Email: c.AuthorEmail, Date: ghTime(c.Date)}
	var author, committer *userJSON
	if c.AuthorLogin != "" {
		u := s.user(c.AuthorLogin)
		author = &u
		u2 := u
		committer = &u2
	}
	tree := sha1.Sum([]byte("tree " + c.SHA))
	treeSHA := hex.EncodeToString(tree[:])
	parents := []parentJSON{}
	if i > 0 {
		p := s.commits[i-1].SHA
		parents = append(parents, parentJSON{
			SHA:     p,
			URL:     s.repoAPI() + "/commits/" + p,
			HTMLURL: s.repoWeb() + "/commit/" + p,
		})
	}
	return commitJSON{
		SHA:    c.SHA,
		NodeID: nodeID("Commit", strconv.Itoa(repoID)+":"+c.SHA),
		Commit: gitCommitJSON{
			Author:       actor,
			Committer:    actor,
			Message:      c.Message,
			Tree:         treeJSON{SHA: treeSHA, URL: s.repoAPI() + "/git/trees/" + treeSHA},
			URL:          s.repoAPI() + "/git/commits/" + c.SHA,
			Verification: verificationJSON{Reason: "unsigned"},
		},
		URL:         s.repoAPI() + "/commits/" + c.SHA,
		HTMLURL:     s.repoWeb() + "/commit/" + c.SHA,
		CommentsURL: s.repoAPI() + "/commits/" + c.SHA + "/comments",
		Author:      author,
		Committer:   committer,
		Parents:     parents,
	}
}

// Paging limits of the compare endpoint: without paging parameters GitHub
// lists up to 250 commits, and never more on one page.
const (
	compareDefaultPerPage = 250
	compareMaxPerPage     = 250
)

// compare answers GET /repos/{owner}/{repo}/compare/{basehead}. s.mu must be
// held.
func (s *Server) compare(r *http.Request, basehead string) reply {
	const docs = "https://docs.github.com/rest/commits/commits#compare-two-commits"
	base, head, ok := strings.Cut(basehead, "...")
	if !ok {
		base, head, ok = strings.Cut(basehead, "..")
	}
	if !ok || base == "" || head == "" {
		return notFound(docs)
	}
	bi, okB := s.resolve(base)
	hi, okH := s.resolve(head)
	if !okB || !okH {
		return notFound(docs)
	}

	status := "identical"
	switch {
	case hi > bi:
		status = "ahead"
	case hi < bi:
		status = "behind"
	}
	ahead, behind := max(hi-bi, 0), max(bi-hi, 0)

	page, per := pageParams(r.URL.Query(), compareDefaultPerPage, compareMaxPerPage)
	lo, up, last := pageBounds(ahead, page, per)
	commits := make([]commitJSON, 0, up-lo)
	for i := lo; i < up; i++ {
		commits = append(commits, s.commitJSON(bi+1+i)) // oldest first
	}

	bsha, hsha := s.commits[bi].SHA, s.commits[hi].SHA
	web := s.repoWeb() + "/compare/" + base + "..." + head
	rep := reply{status: http.StatusOK, body: compareJSON{
		URL:             s.repoAPI() + "/compare/" + base + "..." + head,
		HTMLURL:         web,
		PermalinkURL:    s.repoWeb() + "/compare/" + s.owner + ":" + bsha + "..." + s.owner + ":" + hsha,
		DiffURL:         web + ".diff",
		PatchURL:        web + ".patch",
		BaseCommit:      s.commitJSON(bi),
		MergeBaseCommit: s.commitJSON(min(bi, hi)),
		Status:          status,
		AheadBy:         ahead,
		BehindBy:        behind,
		TotalCommits:    ahead,
		Commits:         commits,
		Files:           []struct{}{},
	}}
	return withLink(rep, s.linkHeader(r, page, last))
}

// pullsForCommit answers GET /repos/{owner}/{repo}/commits/{sha}/pulls.
// s.mu must be held.
func (s *Server) pullsForCommit(r *http.Request, ref string) reply {
	const docs = "https://docs.github.com/rest/commits/commits#list-pull-requests-associated-with-a-commit"
	i, ok := s.resolve(ref)
	if !ok {
		return errReply(http.StatusUnprocessableEntity, "No commit found for SHA: "+ref, docs)
	}
	sha := s.commits[i].SHA
	var all []pullJSON
	for _, p := range s.pulls {
		if slices.Contains(p.shas, sha) {
			all = append(all, s.pullJSON(p))
		}
	}
	page, per := pageParams(r.URL.Query(), 30, 100)
	lo, hi, last := pageBounds(len(all), page, per)
	list := append(make([]pullJSON, 0, hi-lo), all[lo:hi]...)
	return withLink(reply{status: http.StatusOK, body: list}, s.linkHeader(r, page, last))
}

// pullJSON renders a pull request. s.mu must be held.
func (s *Server) pullJSON(p *pullRec) pullJSON {
	n := strconv.Itoa(p.number)
	id := int64(100000 + p.number)
	var headSHA, baseSHA string
	merged := p.created
	if len(p.shas) > 0 {
		headSHA = p.shas[len(p.shas)-1]
		if i, ok := s.bySHA[headSHA]; ok && s.commits[i].Date.After(merged) {
			merged = s.commits[i].Date
		}
		if i, ok := s.bySHA[p.shas[0]]; ok && i > 0 {
			baseSHA = s.commits[i-1].SHA
		}
	}
	u := s.user(p.login)
	headRef := "pr-" + n
	return pullJSON{
		URL:            s.repoAPI() + "/pulls/" + n,
		ID:             id,
		NodeID:         nodeID("PullRequest", strconv.FormatInt(id, 10)),
		HTMLURL:        s.repoWeb() + "/pull/" + n,
		DiffURL:        s.repoWeb() + "/pull/" + n + ".diff",
		PatchURL:       s.repoWeb() + "/pull/" + n + ".patch",
		IssueURL:       s.repoAPI() + "/issues/" + n,
		Number:         p.number,
		State:          "closed",
		Title:          p.title,
		User:           u,
		CreatedAt:      ghTime(p.created),
		UpdatedAt:      ghTime(merged),
		ClosedAt:       ghTime(merged),
		MergedAt:       ghTime(merged),
		MergeCommitSHA: headSHA,
		Head: branchJSON{
			Label: s.owner + ":" + headRef,
			Ref:   headRef,
			SHA:   headSHA,
			User:  u,
		},
		Base: branchJSON{
			Label: s.owner + ":main",
			Ref:   "main",
			SHA:   baseSHA,
			User:  s.orgUser(),
		},
		AuthorAssociation: "MEMBER",
	}
}
