package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"kuberpult/commands"
	"kuberpult/deploy"
)

// maxParts bounds the number of form parts in one release request.
const maxParts = 1000

// textFields are the form fields that carry one value each, at most once. application
// and version are required as well.
var textFields = map[string]func(*commands.ReleaseRequest) *string{
	"application":        func(r *commands.ReleaseRequest) *string { return &r.Application },
	"version":            func(r *commands.ReleaseRequest) *string { return &r.Version },
	"team":               func(r *commands.ReleaseRequest) *string { return &r.Team },
	"source_commit_id":   func(r *commands.ReleaseRequest) *string { return &r.SourceCommitID },
	"previous_commit_id": func(r *commands.ReleaseRequest) *string { return &r.PreviousCommitID },
	"source_author":      func(r *commands.ReleaseRequest) *string { return &r.SourceAuthor },
	"source_message":     func(r *commands.ReleaseRequest) *string { return &r.SourceMessage },
	"display_version":    func(r *commands.ReleaseRequest) *string { return &r.DisplayVersion },
	"ci_link":            func(r *commands.ReleaseRequest) *string { return &r.CILink },
}

// requiredFields must each appear exactly once.
var requiredFields = []string{"application", "version"}

// decodeRelease reads Kuberpult's multipart release form. It checks the shape of the form
// (which fields, how often, well-formed manifest field names) and leaves the values to
// CreateRelease. Every error it returns is meant for the caller: a user error of kind
// ErrInvalid or a *statusError (413, 415).
func decodeRelease(r *http.Request) (commands.ReleaseRequest, error) {
	req := commands.ReleaseRequest{Manifests: map[string]string{}}
	mr, err := multipartReader(r)
	if err != nil {
		return req, err
	}
	d := decoder{req: &req, seen: map[string]bool{}}
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return req, bodyError(err)
		}
		if n == maxParts {
			return req, deploy.Invalidf("the form has more than %d parts", maxParts)
		}
		name := part.FormName()
		value, err := io.ReadAll(part)
		_ = part.Close()
		if err != nil {
			return req, bodyError(err)
		}
		if err := d.field(name, string(value)); err != nil {
			return req, err
		}
	}
	for _, f := range requiredFields {
		if !d.seen[f] {
			return req, deploy.Invalidf("field %q is missing", f)
		}
	}
	if len(req.Manifests) == 0 {
		return req, deploy.Invalidf("no manifests: send one file part manifests[<environment>] per environment")
	}
	return req, nil
}

// multipartReader checks that the body is a multipart form and returns its reader.
func multipartReader(r *http.Request) (*multipart.Reader, error) {
	ct := r.Header.Get("Content-Type")
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return nil, &statusError{
			status: http.StatusUnsupportedMediaType,
			msg:    "the body must be multipart/form-data with a boundary (e.g. curl --form)",
		}
	}
	return multipart.NewReader(r.Body, params["boundary"]), nil
}

// bodyError explains a failure to read the body.
func bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return tooLargeError(tooLarge.Limit)
	}
	return deploy.Invalidf("the multipart body is malformed: %v", err)
}

func tooLargeError(limit int64) error {
	return &statusError{
		status: http.StatusRequestEntityTooLarge,
		msg:    fmt.Sprintf("the request body is larger than %s", byteSize(limit)),
	}
}

// byteSize writes a limit the way people configure it: "32 MiB", "512 KiB" or "100 bytes".
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// decoder collects the fields of one release form.
type decoder struct {
	req  *commands.ReleaseRequest
	seen map[string]bool // field names seen, for the at-most-once rule
}

func (d *decoder) field(name, value string) error {
	if name == "" {
		return deploy.Invalidf("a form part has no field name")
	}
	if set, ok := textFields[name]; ok {
		if err := d.once(name); err != nil {
			return err
		}
		*set(d.req) = value
		return nil
	}
	if env, ok := bracketed(name, "manifests"); ok {
		return d.manifest(name, env, value)
	}
	if strings.HasPrefix(name, "signatures[") {
		return nil // PGP signatures of the legacy endpoint: accepted, not verified
	}
	switch name {
	case "is_prepublish":
		return d.prepublish(value)
	case "revision":
		return d.revision(value)
	case "deploy_to_downstream_environments":
		return deploy.Invalidf("field %q is not supported yet: deploy to those environments after the release", name)
	case "experimentalArgoBracket":
		return deploy.Invalidf("field %q is not supported: Argo CD brackets are not implemented", name)
	case "source_repo_url":
		return nil // deprecated in Kuberpult, ignored there too
	}
	if strings.HasPrefix(name, "manifests") {
		return deploy.Invalidf("field name %q is malformed: send manifests as manifests[<environment>]", name)
	}
	return deploy.Invalidf("unknown field %q; known fields are %s, manifests[<environment>]", name, knownFieldList())
}

func (d *decoder) once(name string) error {
	if d.seen[name] {
		return deploy.Invalidf("field %q is given more than once", name)
	}
	d.seen[name] = true
	return nil
}

func (d *decoder) manifest(name, env, value string) error {
	if err := deploy.ValidateEnv(env); err != nil {
		msg, _ := deploy.UserMessage(err)
		return deploy.Invalidf("field name %q is malformed: %s", name, msg)
	}
	if _, dup := d.req.Manifests[env]; dup {
		return deploy.Invalidf("field %q is given more than once: send one manifest per environment", name)
	}
	d.req.Manifests[env] = value
	return nil
}

func (d *decoder) prepublish(value string) error {
	if err := d.once("is_prepublish"); err != nil {
		return err
	}
	b, err := strconv.ParseBool(value)
	if err != nil {
		return deploy.Invalidf("field %q must be true or false, not %q", "is_prepublish", value)
	}
	if b {
		return deploy.Invalidf("prepublish releases are not supported")
	}
	return nil
}

func (d *decoder) revision(value string) error {
	if err := d.once("revision"); err != nil {
		return err
	}
	if n, err := strconv.ParseUint(value, 10, 64); err != nil || n != 0 {
		return deploy.Invalidf("revisions are not supported: leave out field %q or send 0, not %q", "revision", value)
	}
	return nil
}

// bracketed returns env for a field name of the form prefix[env].
func bracketed(name, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(name, prefix+"[")
	if !ok {
		return "", false
	}
	inner, ok := strings.CutSuffix(rest, "]")
	if !ok || inner == "" || strings.ContainsAny(inner, "[]") {
		return "", false
	}
	return inner, true
}

func knownFieldList() string {
	names := make([]string, 0, len(textFields))
	for n := range textFields {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
