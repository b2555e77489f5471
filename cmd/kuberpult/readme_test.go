package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// shellWords splits a command line as sh does for the README's examples: words separated by
// spaces, "…" and '…' quoting, $( … ) kept whole.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord, quote, depth := false, rune(0), 0
	for _, r := range line {
		switch {
		case quote != 0:
			if r == quote && depth == 0 {
				quote = 0
				continue
			}
			cur.WriteRune(r)
			if r == '(' {
				depth++
			} else if r == ')' && depth > 0 {
				depth--
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

var printfBase64 = regexp.MustCompile(`^\$\(printf '([^']*)' \| base64\)$`)

// TestREADMEReleaseExample runs the README's curl example of POST /api/release, form field
// by form field with the files it names, against serve: the files exist, the release is
// created and auto-deployed to development, authored by the person of its headers.
func TestREADMEReleaseExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var cmd string
	for _, block := range strings.Split(string(readme), "```sh\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		if strings.Contains(block, "/api/release \\") {
			cmd = strings.ReplaceAll(block, "\\\n", " ")
			break
		}
	}
	if cmd == "" {
		t.Fatal("the README has no curl example of POST /api/release")
	}
	words := shellWords(strings.TrimSpace(cmd))
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	headers := http.Header{}
	var url string
	for i := 0; i < len(words); i++ {
		switch w := words[i]; {
		case w == "-F":
			i++
			key, value, _ := strings.Cut(words[i], "=")
			if file, ok := strings.CutPrefix(value, "@"); ok {
				data, err := os.ReadFile(filepath.Join("../..", file))
				if err != nil {
					t.Fatalf("the example uploads %s: %v", file, err)
				}
				part, _ := form.CreateFormFile(key, filepath.Base(file))
				part.Write(data)
			} else {
				form.WriteField(key, value)
			}
		case w == "-H":
			i++
			name, value, _ := strings.Cut(words[i], ": ")
			if m := printfBase64.FindStringSubmatch(value); m != nil {
				value = base64.StdEncoding.EncodeToString([]byte(m[1]))
			}
			headers.Set(name, value)
		case strings.HasPrefix(w, "http://"):
			url = w
		}
	}
	form.Close()
	if !strings.HasSuffix(url, "/api/release") {
		t.Fatalf("the example posts to %q", url)
	}

	addr := freeAddr(t)
	cfgPath, bare := writeConfig(t, addr)
	ctx, cancel := context.WithCancel(context.Background())
	serveErr := make(chan error, 1)
	go func() { serveErr <- run(ctx, []string{"serve", "--config", cfgPath}, nil, io.Discard, io.Discard) }()
	waitHealthy(t, "http://"+addr, serveErr)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/release", &body)
	req.Header = headers
	req.Header.Set("Content-Type", form.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	cancel()
	if err := <-serveErr; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("the README's release example: %d %s", resp.StatusCode, answer)
	}
	want, _ := os.ReadFile("../../examples/checkout/development.yaml")
	if got := git(t, bare, "show", "main:environments/development/applications/checkout/manifests/manifests.yaml"); strings.TrimSpace(got) != strings.TrimSpace(string(want)) {
		t.Errorf("development manifest:\n%s\nwant:\n%s", got, want)
	}
	if got := git(t, bare, "log", "-1", "--format=%an <%ae>", "main"); got != "Jane Doe <jane@example.com>" {
		t.Errorf("commit author %q", got)
	}
}
