package argocd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultTimeout is the time a single request (not a watch) may take when
// Options.Timeout is zero. A refresh makes Argo CD read git before it answers.
const DefaultTimeout = 30 * time.Second

// Options configure a Client.
type Options struct {
	// Server is Argo CD's URL, e.g. https://argocd.example.com (with a path if Argo CD
	// serves under one, e.g. https://example.com/argocd).
	Server string
	// Token is the bearer token (an Argo CD account's or project role's JWT).
	Token string
	// CAFile is a PEM file of the CA certificates to trust in addition to the system's.
	CAFile string
	// Insecure skips the verification of the server's certificate: for labs only.
	Insecure bool
	// HTTPClient, if set, sends the requests instead of one built from CAFile and
	// Insecure (which must then be empty). Its Timeout must be zero, or it ends watches.
	HTTPClient *http.Client
	// Timeout is how long a single request may take; zero means DefaultTimeout. Watches
	// have none: they last until their context ends.
	Timeout time.Duration
}

// Client talks to Argo CD's REST API. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	token   string
	http    *http.Client
	timeout time.Duration
}

// New returns a client for the Argo CD server of opts.
func New(opts Options) (*Client, error) {
	base, err := url.Parse(strings.TrimSpace(opts.Server))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("argocd: server %q is not a URL like https://argocd.example.com", opts.Server)
	}
	base.Path = strings.TrimRight(base.Path, "/")
	base.RawQuery, base.Fragment = "", ""
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("argocd: timeout %s is negative", opts.Timeout)
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	token := strings.TrimSpace(opts.Token) // as read from a file, with its newline
	if strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, errors.New("argocd: the token has spaces or control characters")
	}
	c := &Client{base: base, token: token, http: opts.HTTPClient, timeout: opts.Timeout}
	if c.http != nil {
		if opts.CAFile != "" || opts.Insecure {
			return nil, errors.New("argocd: set either an HTTP client or a CA file and insecure, not both")
		}
		return c, nil
	}
	if opts.CAFile != "" && opts.Insecure {
		return nil, errors.New("argocd: set either a CA file or insecure, not both")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.Insecure}
	if opts.CAFile != "" {
		pool, err := caPool(opts.CAFile)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	c.http = &http.Client{Transport: tr}
	return c, nil
}

// caPool is the system's certificate pool with the certificates of file added.
func caPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("argocd: read CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("argocd: CA file %s holds no PEM certificate", file)
	}
	return pool, nil
}

// Application returns the application name. With refresh, Argo CD first compares it with
// git again (a normal refresh) and answers when it has. A missing application is answered
// as not permitted (ErrUnauthorized); ApplicationInProject can tell the two apart.
func (c *Client) Application(ctx context.Context, name string, refresh bool) (Application, error) {
	return c.ApplicationInProject(ctx, "", name, refresh)
}

// ApplicationInProject is Application for an application of project (Kuberpult's projects
// are named after the environments). Argo CD then answers a missing application, or one
// of another project, with ErrNotFound, and keeps ErrUnauthorized for a token that may
// not read the project's applications.
func (c *Client) ApplicationInProject(ctx context.Context, project, name string, refresh bool) (Application, error) {
	q := url.Values{}
	if refresh {
		q.Set("refresh", "normal")
	}
	if project != "" {
		q.Set("project", project)
	}
	var app Application
	if err := c.get(ctx, "/api/v1/applications/"+url.PathEscape(name), q, &app); err != nil {
		return Application{}, fmt.Errorf("argocd: get application %s: %w", name, err)
	}
	return app, nil
}

// Applications returns the applications whose labels match selector (a Kubernetes label
// selector such as "team=shop"; empty for all the token may see).
func (c *Client) Applications(ctx context.Context, selector string) ([]Application, error) {
	q := url.Values{}
	if selector != "" {
		q.Set("selector", selector)
	}
	var list struct {
		Items []Application `json:"items"`
	}
	if err := c.get(ctx, "/api/v1/applications", q, &list); err != nil {
		return nil, fmt.Errorf("argocd: list applications%s: %w", describe(selector), err)
	}
	return list.Items, nil
}

func describe(selector string) string {
	if selector == "" {
		return ""
	}
	return " with selector " + selector
}

// get sends one GET within the client's timeout and decodes the answer into v.
func (c *Client) get(ctx context.Context, path string, q url.Values, v any) error {
	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	err := c.getOnce(reqCtx, path, q, v)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %s: %w", c.timeout, err)
	}
	return err
}

func (c *Client) getOnce(ctx context.Context, path string, q url.Values, v any) error {
	resp, err := c.do(ctx, path, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c.errorOf(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// do sends a GET of path with query q and the token.
func (c *Client) do(ctx context.Context, path string, q url.Values) (*http.Response, error) {
	target := c.base.String() + path // path is escaped
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "kuberpult")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return c.http.Do(req)
}

// errorOf reads an error answer.
func (c *Client) errorOf(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := parseError(resp.StatusCode, body)
	e.Message = redact(e.Message, c.token)
	return e
}
